"""Settings plumbing for both apps: pydantic-settings models whose errors name the
setting and never show its value.

Each app declares an :class:`AppSettings` model whose field names are its setting names
in lower case. :func:`load` reads one in either of two ways:

- from the outside world: the environment first, then the app's ``settings.env``
  file, then the field's default (``env_file``); an empty value counts as unset;
- from a mapping only (``given``, the apps' ``test_config``): nothing else is read, so
  a test never picks up a developer's instance file or shell environment.

A wrong value raises :class:`ConfigError`, whose message names each wrong setting in
upper case (as the operator wrote it) with what is wrong, never the value (it may be a
password), and which does not chain pydantic's error (that would print the value in
the traceback).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


class AppSettings(BaseSettings):
    """Base of both apps' settings: unknown keys ignored (the file is shared), an empty
    value unset, the file read as UTF-8."""

    model_config = SettingsConfigDict(
        extra="ignore", env_ignore_empty=True, env_file_encoding="utf-8"
    )


def instance_path_from_env() -> str | None:
    """The instance folder named by ``INSTANCE_PATH`` (made absolute), or None for Flask's
    default, ``instance/`` beside the code.

    Read when an app is built, never at import. The tests' processes get their own folder
    this way, so a developer's ``instance/settings.env`` never reaches them.
    """
    value = os.environ.get("INSTANCE_PATH", "").strip()
    return str(Path(value).expanduser().resolve()) if value else None


class ConfigError(RuntimeError):
    """The settings are unusable; the message names the setting, never its value."""


def load(
    cls: type[S], *, env_file: Path | None = None, given: Mapping[str, Any] | None = None
) -> S:
    """``cls`` from the outside world (``given`` is None) or from ``given`` alone.

    Keys of ``given`` are setting names in any case; unknown keys are ignored here (the
    caller may pass them on, for example Flask's own settings).
    """
    try:
        if given is None:
            return cls(_env_file=env_file)
        fields = cls.model_fields
        values = {k.lower(): v for k, v in given.items() if k.lower() in fields}
        return cast(S, _only_given(cls)(**values))
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line per problem: ``KEY: what is wrong``; never the input value."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        key = ".".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}" if key else message)
    return "; ".join(problems)


@functools.cache
def _only_given(cls: type[S]) -> type[S]:
    """A subclass of ``cls`` that reads its constructor's arguments and nothing else."""

    class OnlyGiven(cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    OnlyGiven.__name__ = OnlyGiven.__qualname__ = cls.__name__
    return OnlyGiven
