"""YAML -> JobConfig, dotted overrides, and one-line error messages.

`apply_overrides` is the one override mechanism: `--set a.b=c` on the command line and a Tune
trial's parameters both go through it, before validation, so both get the same checks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError, create_model, model_validator

from ganforge.platform.config.schema import JobConfig
from ganforge.platform.errors import ConfigError


def parse_override(text: str) -> tuple[str, Any]:
    """Splits `a.b=value` and parses the value as YAML (so `3`, `true`, `[0.5, 0.9]` get types).

    Pydantic then coerces what YAML leaves as a string, e.g. `1e-4`, to the field's type.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE with a dotted KEY, e.g. gan.n_critic=5")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Returns a copy of `raw` with each dotted key set to its value (intermediate maps created)."""
    result = copy.deepcopy(dict(raw))
    for dotted, value in overrides.items():
        node = result
        *parents, leaf = dotted.split(".")
        for depth, part in enumerate(parents):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parents[: depth + 1])
                raise ConfigError(f"--set {dotted}: {where} holds {child!r}, not a section")
            node = child
        node[leaf] = value
    return result


def flatten_values(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'gan': {'g_opt': {'lr': 1e-4}}} -> {'gan.g_opt.lr': 1e-4}; dotted keys pass through."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_values(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@cache
def job_config_type(modality: str) -> type[JobConfig]:
    """JobConfig with `data` and `model` narrowed to the modality's own config models, and the
    gan.* options checked against the job's objective."""
    # Imported here, not at the top: modalities import torch (about 2 s), and a missing or
    # malformed file should answer before that.
    from ganforge.platform.gan.objective import unsupported_options
    from ganforge.platform.modality import get_modality

    spec = get_modality(modality)

    def objective_honours_gan(job: JobConfig) -> JobConfig:
        objective = spec.objective(job.model)
        ignored = unsupported_options(objective, job.gan)
        if ignored:
            key = ignored[0]
            raise ValueError(
                f"gan.{key} = {getattr(job.gan, key)!r}: the {objective.name!r} objective of this "
                f"{modality} job ignores it (it honours gan.{', gan.'.join(sorted(objective.honours()))})"
            )
        return job

    def modality_has_augment_ops(job: JobConfig) -> JobConfig:
        if job.gan.ada.enabled and not spec.augment_ops(job.model):
            raise ValueError(
                f"gan.ada.enabled = True: the {modality} modality provides no augment ops for this "
                "model, so adaptive augmentation has nothing to apply (set gan.ada.enabled: false)"
            )
        return job

    def best_metric_is_reported(job: JobConfig) -> JobConfig:
        try:
            spec.ranking_spec(job.data, job.train.best_metric)
        except ValueError as error:
            raise ValueError(f"train.best_metric = {error}") from None
        return job

    return create_model(
        f"{spec.name.title()}JobConfig",
        __base__=JobConfig,
        __validators__={
            "objective_honours_gan": model_validator(mode="after")(objective_honours_gan),
            "modality_has_augment_ops": model_validator(mode="after")(modality_has_augment_ops),
            "best_metric_is_reported": model_validator(mode="after")(best_metric_is_reported),
        },
        data=(spec.data_config, spec.data_config()),
        model=(spec.model_config, spec.model_config()),
    )


def load_job_dict(raw: Mapping[str, Any], source: str = "config") -> JobConfig:
    """Validates a job config given as plain data.

    Raises:
        ConfigError: with one line naming `source`, the key path, the value and what was expected.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of keys to values, got {raw!r}")
    modality = raw.get("modality")
    if modality is None:
        raise ConfigError(f"{source}: modality: missing (expected one of: {_names()})")
    if modality == "sequence":
        raise ConfigError(
            f"{source}: modality = 'sequence' was split in two: use 'tokens' (oracle, text, token_ids) "
            "or 'timeseries' (sines, seasonal, csv, npy); see configs/tokens/ and configs/timeseries/"
        )
    try:
        model_type = job_config_type(str(modality))
    except KeyError:
        raise ConfigError(
            f"{source}: modality = {modality!r}: unknown modality (expected one of: {_names()})"
        ) from None
    try:
        return model_type.model_validate(dict(raw))
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe_validation_error(error, model_type)}") from None


def load_job_file(path: str | Path, overrides: Iterable[str] | Mapping[str, Any] = ()) -> JobConfig:
    """Reads a YAML job file, applies dotted overrides and validates the result."""
    raw = read_yaml(path)
    if not isinstance(overrides, Mapping):
        overrides = dict(parse_override(item) for item in overrides)
    return load_job_dict(apply_overrides(raw, overrides), source=str(path))


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML mapping (UTF-8, each key once), turning every problem into a one-line ConfigError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror})") from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02X} at line {line}); save it as UTF-8"
        ) from None
    try:
        raw = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: plain data only
    except DuplicateKeyError as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise ConfigError(
            f"{path}: not YAML text (control character 0x{error.character:02X} at line {line})"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: {where}invalid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return raw


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice (plain PyYAML silently keeps the last value)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in any mapping of the document, at any depth.

    The check walks the composed document before it is constructed, so each message can name
    the full key path (`gan.g_opt.lr`) and both lines. Merge keys (`<<: *base`) are not
    duplicates: a key written beside a merge overrides the merged one, as YAML intends.
    """

    def construct_document(self, node: yaml.Node) -> Any:
        _refuse_duplicate_keys(node, "", set())
        return super().construct_document(node)


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _refuse_duplicate_keys(node: yaml.Node, path: str, seen: set[int]) -> None:
    if id(node) in seen:  # an alias of a node already checked (anchors may even recurse)
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _refuse_duplicate_keys(item, f"{path}[{index}]", seen)
    elif isinstance(node, yaml.MappingNode):
        first_line: dict[tuple[str, str], int] = {}  # (tag, text): `1` and "1" are different keys
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                _refuse_duplicate_keys(value_node, path, seen)
                continue
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "<complex key>"
            key_path = f"{path}.{name}" if path else str(name)
            if isinstance(key_node, yaml.ScalarNode):
                key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                if key in first_line:
                    first = first_line[key]
                    lines = f"lines {first} and {line}" if first != line else f"twice on line {line}"
                    raise DuplicateKeyError(f"duplicate key {key_path} ({lines})")
                first_line[key] = line
            _refuse_duplicate_keys(value_node, key_path, seen)


def describe_validation_error(error: ValidationError, model_type: type[BaseModel]) -> str:
    """Formats the first validation error as `key.path = value: what was expected`."""
    errors = error.errors()
    first = errors[0]
    loc = [str(part) for part in first["loc"]]
    path = ".".join(loc) or "<root>"
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(model_type, loc[:-1])
        message = f"{path}: unknown key" + (f" (expected one of: {', '.join(allowed)})" if allowed else "")
    elif first["type"] == "missing":
        message = f"{path}: missing required key"
    elif first["type"] == "value_error" and not loc:
        # A whole-job check (JobConfig's cross-section rules): its message names its own keys.
        message = str(first["ctx"]["error"])
    elif first["type"] == "value_error":
        # Our own validators' messages, without pydantic's "Value error, " prefix.
        message = f"{path} = {first['input']!r}: {first['ctx']['error']}"
    else:
        message = f"{path} = {first['input']!r}: {first['msg']}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return message


def _allowed_keys(model_type: type[BaseModel], loc: list[str]) -> list[str]:
    """Field names of the (nested) config model at `loc`, or [] where that is not a model."""
    current: Any = model_type
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _names() -> str:
    from ganforge.platform.modality import modality_names  # torch, as in job_config_type

    return ", ".join(modality_names())
