"""
A client for Kafka REST proxies (Confluent REST Proxy v2, Strimzi Kafka Bridge) for Airflow.

It knows nothing about the data it carries: a hook for the proxy's produce API, an operator
that sends JSON records in bounded requests, several at once, and resends only what was not
acknowledged, and the JSON encoding both use.
"""

from __future__ import annotations

from kafka_rest.encoding import JSONValue, dumps_compact, dumps_record, encode_record, to_json_value
from kafka_rest.exceptions import (
    KafkaRestError,
    KafkaRestRecordsRefusedError,
    RecordEncodingError,
)
from kafka_rest.hooks import KafkaRestHook
from kafka_rest.operators import KafkaRestOperator
from kafka_rest.results import ProduceResult, RecordError, RecordOffset

__all__ = [
    "JSONValue",
    "KafkaRestError",
    "KafkaRestHook",
    "KafkaRestOperator",
    "KafkaRestRecordsRefusedError",
    "ProduceResult",
    "RecordEncodingError",
    "RecordError",
    "RecordOffset",
    "dumps_compact",
    "dumps_record",
    "encode_record",
    "to_json_value",
]
