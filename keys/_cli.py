"""The ``fairdraw keys`` commands, and the key loading the ledger and the service share.

``keys generate --name NAME [--out PATH]`` writes a new encrypted key file and prints its verifier
key; ``keys show [--key PATH]`` decrypts a key file and prints its verifier key. Without a path both
use ``$FAIRDRAW_KEY_FILE``, else ``$FAIRDRAW_HOME/keys/log.key`` (``FAIRDRAW_HOME`` defaults to
``~/.fairdraw``). The passphrase comes from ``FAIRDRAW_KEY_PASSPHRASE`` or
``FAIRDRAW_KEY_PASSPHRASE_FILE``. Errors print one plain line on stderr and exit with status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from keys.keyfile import KeyFileError, passphrase_from_env, read_key_file, write_key_file
from keys.signing import SigningKey, generate

HOME_ENV = "FAIRDRAW_HOME"
KEY_FILE_ENV = "FAIRDRAW_KEY_FILE"


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Register ``keys generate`` and ``keys show`` on `subparsers`; each sets ``handler(args) -> int``.

    Returns the ``keys`` subcommand group, so the composing module can add commands that need the
    ledger (``keys rotate``).
    """
    keys = subparsers.add_parser("keys", help="manage the log's signing key")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    make = commands.add_parser("generate", help="write a new encrypted key file; print its verifier key")
    make.add_argument("--name", required=True, help="key name, usually the log origin")
    make.add_argument("--out", type=Path, help="key file to create (never overwritten)")
    make.set_defaults(handler=_generate)
    show = commands.add_parser("show", help="decrypt a key file; print its verifier key")
    show.add_argument("--key", type=Path, help="key file to read")
    show.set_defaults(handler=_show)
    return commands


def fairdraw_home(env: Mapping[str, str]) -> Path:
    """Return ``$FAIRDRAW_HOME``, or ``~/.fairdraw`` when it is unset or empty."""
    return Path(env.get(HOME_ENV) or Path.home() / ".fairdraw")


def key_file_path(env: Mapping[str, str], home: Path, path: Path | None = None) -> Path:
    """Return `path`, else ``$FAIRDRAW_KEY_FILE``, else ``home/keys/log.key``."""
    if path is not None:
        return path
    configured = env.get(KEY_FILE_ENV)
    return Path(configured) if configured else home / "keys" / "log.key"


def load_signing_key(env: Mapping[str, str], home: Path, path: Path | None = None) -> SigningKey:
    """Return the signing key in the key file chosen by :func:`key_file_path`, decrypted.

    The passphrase comes from `env` (see ``keys.keyfile.passphrase_from_env``). Costs one Argon2id
    derivation. Raises KeyFileError with a one-line message for every failure.
    """
    key_path = key_file_path(env, home, path)
    return read_key_file(key_path, passphrase_from_env(env))


def _generate(args: argparse.Namespace) -> int:
    env = os.environ
    try:
        path = key_file_path(env, fairdraw_home(env), args.out)
        passphrase = passphrase_from_env(env)
        key = generate(args.name)
        write_key_file(path, key, passphrase)
    except (KeyFileError, ValueError) as err:
        return _fail(err)
    print(key.verifier_key)
    return 0


def _show(args: argparse.Namespace) -> int:
    env = os.environ
    try:
        key = load_signing_key(env, fairdraw_home(env), args.key)
    except KeyFileError as err:
        return _fail(err)
    print(key.verifier_key)
    return 0


def _fail(err: Exception) -> int:
    print(f"fairdraw keys: {err}", file=sys.stderr)
    return 1
