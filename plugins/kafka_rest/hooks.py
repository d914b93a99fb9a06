"""A hook for the produce API shared by Confluent's REST Proxy (v2) and the Strimzi bridge."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kafka_rest.encoding import JSONValue, dumps_compact, to_json_value
from kafka_rest.exceptions import KafkaRestError, describe_status
from kafka_rest.results import RETRYABLE_STATUSES, ProduceResult, parse_produce_answer

#: The Strimzi bridge answers HTTP 500 when a ``; charset=...`` suffix follows this.
PRODUCE_CONTENT_TYPE = "application/vnd.kafka.json.v2+json"
ACCEPT = "application/vnd.kafka.v2+json, application/json"

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_FACTOR = 1.0
BODY_EXCERPT_CHARS = 200
#: Longest wait, in seconds, that a ``Retry-After`` header can impose between retries.
RETRY_AFTER_MAX = 60


class _LoggedRetry(Retry):
    """A urllib3 ``Retry`` that logs each retry at WARNING, never a header or a body."""

    def __init__(self, *args: Any, logger: Any = None, attempts: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = logger or logging.getLogger(__name__)
        self.attempts = attempts

    def new(self, **kw: Any) -> _LoggedRetry:
        kw.setdefault("logger", self.logger)
        kw.setdefault("attempts", self.attempts)
        return super().new(**kw)

    def increment(
        self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any
    ) -> _LoggedRetry:
        retry = super().increment(method, url, *args, **kwargs)
        response, error = kwargs.get("response"), kwargs.get("error")
        if response is not None:
            cause = f"HTTP {response.status}"
        elif error is not None:
            cause = f"{type(error).__name__}: {error}"
        else:
            cause = "unknown cause"
        self.logger.warning(
            "%s %s failed on attempt %d of %d (%s); retrying in %.1f s",
            method,
            urlsplit(url or "").path,
            len(retry.history),
            self.attempts,
            cause,
            retry.get_backoff_time(),
        )
        return retry


@dataclass(frozen=True)
class _ProxySettings:
    base_url: str
    headers: dict[str, str]
    auth: tuple[str, str] | None
    verify: bool | str
    timeout: float
    max_retries: int
    backoff_factor: float


class KafkaRestHook(BaseHook):
    """
    Talk to a Kafka REST proxy: Confluent REST Proxy (API v2) or the Strimzi Kafka Bridge.

    The connection is read on first use, not when the hook is built. The base URL is the
    connection's host when it holds a scheme (``https://abc.example.com/stage``), else
    ``schema://host[:port]`` where ``schema`` is ``http`` or ``https``; the host may carry a
    path, such as an API Gateway stage, and so may the extra ``base_path``. Login and password,
    when set, are sent as basic auth. The connection's extra may hold:

    * ``headers``: a JSON object of headers sent with every request, such as ``x-api-key``;
      values of headers with sensitive names are masked in logs.
    * ``verify``: ``false`` to skip TLS verification, or the path of a CA bundle.
    * ``timeout``: seconds to wait for the proxy on each attempt (default 30).
    * ``max_retries``: how many times to retry a request after a connection error, a timeout,
      HTTP 429 or HTTP 500/502/503/504 (default 3). Retried requests include produce
      requests, so a record may reach Kafka twice if an answer is lost.
    * ``backoff_factor``: the exponential backoff between retries, in seconds (default 1).

    :param kafka_rest_conn_id: The Airflow connection to the proxy.
    :param timeout: Override of the connection's ``timeout``.
    :param max_retries: Override of the connection's ``max_retries``.
    :param backoff_factor: Override of the connection's ``backoff_factor``.
    """

    conn_name_attr = "kafka_rest_conn_id"
    default_conn_name = "kafka_rest_proxy"
    conn_type = "http"
    hook_name = "Kafka REST Proxy"

    def __init__(
        self,
        kafka_rest_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        backoff_factor: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kafka_rest_conn_id = kafka_rest_conn_id
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff_factor = backoff_factor

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return how the Airflow UI shows this connection's fields."""
        return {
            "relabeling": {"host": "Host or base URL", "schema": "Scheme (http or https)"},
            "placeholders": {
                "host": "https://abc123.execute-api.eu-west-1.amazonaws.com/test",
                "extra": '{"headers": {"x-api-key": "..."}, "timeout": 30, "max_retries": 3}',
            },
        }

    @cached_property
    def settings(self) -> _ProxySettings:
        """Read the connection once and return what the requests need."""
        conn = self.get_connection(self.kafka_rest_conn_id)
        extra = conn.extra_dejson
        headers = _read_headers(extra.get("headers"), self.kafka_rest_conn_id)
        for name, value in headers.items():
            mask_secret(value, name)
        auth = (conn.login, conn.password or "") if conn.login else None
        return _ProxySettings(
            base_url=_base_url(conn.host, conn.schema, conn.port, conn.conn_type, extra),
            headers=headers,
            auth=auth,
            verify=_read_verify(extra.get("verify", True)),
            timeout=_positive_number(
                "timeout", _first(self._timeout, extra.get("timeout"), DEFAULT_TIMEOUT)
            ),
            max_retries=_count(
                "max_retries",
                _first(self._max_retries, extra.get("max_retries"), DEFAULT_MAX_RETRIES),
            ),
            backoff_factor=_non_negative_number(
                "backoff_factor",
                _first(self._backoff_factor, extra.get("backoff_factor"), DEFAULT_BACKOFF_FACTOR),
            ),
        )

    @property
    def base_url(self) -> str:
        """Return the proxy's base URL, without a trailing slash."""
        return self.settings.base_url

    def get_conn(self) -> requests.Session:
        """
        Return the calling thread's session, with the hook's headers, auth, TLS settings and
        retries.

        Each thread gets a session of its own, so one hook may serve requests from several
        threads at once.
        """
        session: requests.Session | None = getattr(self._sessions, "session", None)
        if session is None:
            session = self._new_session()
            self._sessions.session = session
        return session

    @cached_property
    def _sessions(self) -> threading.local:
        # Made on first use rather than in __init__: a threading.local cannot be deep-copied.
        return threading.local()

    def _new_session(self) -> requests.Session:
        settings = self.settings
        retry = _LoggedRetry(
            total=settings.max_retries,
            status_forcelist=sorted(RETRYABLE_STATUSES - {408}),
            allowed_methods=frozenset({"GET", "POST"}),
            backoff_factor=settings.backoff_factor,
            respect_retry_after_header=True,
            retry_after_max=RETRY_AFTER_MAX,
            raise_on_status=False,
            logger=self.log,
            attempts=settings.max_retries + 1,
        )
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update(settings.headers)
        session.headers["Accept"] = ACCEPT
        session.auth = settings.auth
        session.verify = settings.verify
        return session

    def list_topics(self) -> list[str]:
        """Return the names of the topics the proxy can see."""
        response = self._request("GET", "/topics")
        payload = self._json_or_raise(response, topic=None, sent=0)
        if response.status_code != 200 or not isinstance(payload, list):
            raise self._request_error(response, payload, topic=None, sent=0)
        return [str(name) for name in payload]

    def produce(
        self, topic: str, records: Sequence[Mapping[str, Any]], *, raise_on_error: bool = True
    ) -> ProduceResult:
        """
        Send records to a topic in one request and return where each landed or why it failed.

        :param topic: The topic to send to.
        :param records: Kafka records, each a mapping with ``value`` and optionally ``key``;
            values are encoded with :func:`~kafka_rest.encoding.to_json_value`.
        :param raise_on_error: Raise :class:`KafkaRestError` if any record failed, even in an
            HTTP 200 answer. With ``False`` only a failed request raises, and failed records
            are left in the result for the caller to resend.
        """
        if not records:
            raise ValueError(f"No records to send to topic {topic!r}")
        return self.produce_encoded(topic, _encode_records(records), raise_on_error=raise_on_error)

    def produce_encoded(
        self, topic: str, records: Sequence[bytes], *, raise_on_error: bool = True
    ) -> ProduceResult:
        """
        Send records already encoded as compact JSON, as :meth:`produce` does.

        Lets a caller that resends records, or measures their size, encode each one once.

        :param topic: The topic to send to.
        :param records: Each a UTF-8 JSON object ``{"key": ..., "value": ...}``, sent as is.
        :param raise_on_error: As for :meth:`produce`.
        """
        if not records:
            raise ValueError(f"No records to send to topic {topic!r}")
        body = b'{"records":[' + b",".join(records) + b"]}"
        response = self._request(
            "POST",
            f"/topics/{quote(topic, safe='')}",
            data=body,
            headers={"Content-Type": PRODUCE_CONTENT_TYPE},
        )
        payload = self._json_or_raise(response, topic=topic, sent=len(records))
        if response.status_code != 200:
            raise self._request_error(response, payload, topic=topic, sent=len(records))
        result = parse_produce_answer(topic, response.status_code, payload, len(records))
        self.log.debug(
            "Topic %s: %d of %d records acknowledged (%d bytes sent)",
            topic,
            result.acknowledged,
            result.total,
            len(body),
        )
        if raise_on_error:
            result.raise_for_errors()
        return result

    def test_connection(self) -> tuple[bool, str]:
        """Check that the proxy answers ``GET /topics``, for the Airflow UI."""
        try:
            topics = self.list_topics()
        except Exception as e:
            return False, str(e)
        return True, f"Kafka REST proxy at {self.base_url} answered; it lists {len(topics)} topics"

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        settings = self.settings
        url = f"{settings.base_url}{path}"
        started = time.monotonic()
        try:
            return self.get_conn().request(method, url, timeout=settings.timeout, **kwargs)
        except requests.RequestException as e:
            attempts = settings.max_retries + 1
            raise KafkaRestError(
                f"{method} {urlsplit(url).path} failed without an answer from the Kafka REST "
                f"proxy at {_without_userinfo(settings.base_url)} after up to {attempts} "
                f"attempts in {time.monotonic() - started:.1f} s: {type(e).__name__}: {e!s:.300}",
                retryable=True,
            ) from e

    def _json_or_raise(self, response: requests.Response, *, topic: str | None, sent: int) -> Any:
        try:
            return response.json()
        except ValueError:
            if response.status_code != 200:
                raise self._request_error(response, None, topic=topic, sent=sent) from None
            raise self._error(
                response,
                f"the answer is not JSON: {_excerpt(response.text)!r}",
                topic=topic,
                sent=sent,
                retryable=True,
            ) from None

    def _request_error(
        self, response: requests.Response, payload: Any, *, topic: str | None, sent: int
    ) -> KafkaRestError:
        status = response.status_code
        if isinstance(payload, dict) and ("error_code" in payload or "message" in payload):
            detail = f"error_code {payload.get('error_code')}: {payload.get('message')}"
        elif payload is not None and status == 200:
            detail = f"unexpected answer: {_excerpt(response.text)!r}"
        else:
            detail = f"body {_excerpt(response.text)!r}"
        if status in (401, 403):
            detail = (
                f"the proxy refused the credentials; check the API key header or login of "
                f"connection {self.kafka_rest_conn_id!r} ({detail})"
            )
        elif status == 404 and topic is not None:
            detail = f"topic not found, or wrong base URL {self.base_url!r} ({detail})"
        elif status == 413:
            detail = f"the request body is too large; send fewer bytes per request ({detail})"
        retryable = status in RETRYABLE_STATUSES
        if retryable:
            detail = f"{detail}, after {self.settings.max_retries + 1} attempts"
        return self._error(response, detail, topic=topic, sent=sent, retryable=retryable)

    def _error(
        self,
        response: requests.Response,
        detail: str,
        *,
        topic: str | None,
        sent: int,
        retryable: bool,
    ) -> KafkaRestError:
        status = response.status_code
        if topic is not None:
            return KafkaRestError.for_records(
                topic=topic,
                failed=sent,
                total=sent,
                status=status,
                first_error=detail,
                failed_indexes=range(sent),
                retryable=retryable,
            )
        path = urlsplit(response.request.url or "").path
        return KafkaRestError(
            f"{response.request.method} {path} failed ({describe_status(status)}): {detail}",
            status=status,
            first_error=detail,
            retryable=retryable,
        )


def _encode_records(records: Sequence[Mapping[str, Any]]) -> list[bytes]:
    encoded: list[bytes] = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping) or "value" not in record:
            raise TypeError(
                f"Record {i} must be a mapping with a 'value', got {type(record).__name__}"
            )
        item: dict[str, JSONValue] = {"key": to_json_value(record.get("key"), f"records[{i}].key")}
        item["value"] = to_json_value(record["value"], f"records[{i}].value")
        encoded.append(dumps_compact(item).encode("utf-8"))
    return encoded


def _base_url(
    host: str | None,
    schema: str | None,
    port: int | None,
    conn_type: str | None,
    extra: Mapping[str, Any],
) -> str:
    if not host:
        raise ValueError("The Kafka REST proxy connection has no host")
    path_parts: list[str] = []
    if "://" in host:
        base = host.rstrip("/")
    else:
        host_part, _, host_path = host.partition("/")
        scheme = "http"
        if schema and schema.lower() in ("http", "https"):
            scheme = schema.lower()
        elif conn_type and conn_type.lower() in ("http", "https"):
            scheme = conn_type.lower()
            # An http URI such as http://host/stage puts the stage in ``schema``.
            if schema:
                path_parts.append(schema)
        netloc = f"{host_part}:{port}" if port else host_part
        base = f"{scheme}://{netloc}"
        if host_path:
            path_parts.insert(0, host_path)
    base_path = extra.get("base_path")
    if base_path:
        path_parts.append(str(base_path))
    for part in path_parts:
        if part.strip("/"):
            base = f"{base}/{part.strip('/')}"
    scheme, netloc, path, _, _ = urlsplit(base)
    if scheme not in ("http", "https") or not netloc:
        raise ValueError(f"The Kafka REST proxy base URL must be http or https, got {base!r}")
    return urlunsplit((scheme, netloc, path.rstrip("/"), "", ""))


def _read_headers(value: Any, conn_id: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(
                f"Extra 'headers' of connection {conn_id!r} must be a JSON object, got text that "
                "is not JSON"
            ) from None
    if not isinstance(value, dict):
        raise ValueError(
            f"Extra 'headers' of connection {conn_id!r} must be a JSON object, "
            f"got {type(value).__name__}"
        )
    return {str(name): str(header) for name, header in value.items()}


def _read_verify(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, str) and value:
        return value
    raise ValueError(f"Extra 'verify' must be true, false or a CA bundle path, got {value!r}")


def _first(*values: Any) -> Any:
    return next(value for value in values if value is not None)


def _positive_number(name: str, value: Any) -> float:
    number = _non_negative_number(name, value)
    if number == 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return number


def _non_negative_number(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not number >= 0 or number == float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def _count(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or number < 0 or number != float(value):
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return number


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _excerpt(text: str) -> str:
    return " ".join(text.split())[:BODY_EXCERPT_CHARS]
