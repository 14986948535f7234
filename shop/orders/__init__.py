"""The shop's services: checkout, the confirm step, the sweep, and queries.

Views and the CLI call these; they own their database transactions and are the only
code that talks to Avarda. The API the web layer uses (keep these names):

- ``shop.orders.checkout.begin_checkout(lines, current_token) -> CheckoutSession``:
  ``lines`` are ``(product_id, quantity)``; raises ``shop.orders.errors.CheckoutError``
  subclasses (``EmptyCart``, ``InvalidCart``, ``OutOfStock``, ``CheckoutUnavailable``)
  whose message can be shown. ``CheckoutSession.completed`` means Avarda already says
  Completed: send the browser to ``/checkout/done?purchaseId=…`` instead of the form.
- ``shop.orders.confirm.confirm_purchase(purchase_id, "browser") -> ConfirmResult``:
  ``.outcome`` (``ConfirmOutcome``), ``.order`` (or None for an unknown purchase),
  ``.state``. Database errors propagate.
- ``shop.orders.queries``: ``get_order_by_token``, ``get_order_by_purchase_id``,
  ``order_status_json(order)``, ``timeline(order)`` (plain sentences),
  ``recent_orders``, ``order_events``, ``outbox_for``.
- ``shop.orders.catalog``: ``list_products``, ``get_product``, ``get_product_by_sku``,
  ``products_by_sku``. Product pictures are ``static/img/products/<sku lower>.svg``:
  mug-01, tee-01, book-01, coffee-01, lamp-01, socks-01.
"""
