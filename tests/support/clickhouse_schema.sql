-- Telemetry deployment schema (database `telemetry`).
-- No column has a DEFAULT: a row that omits a column gets the type's default value.
-- The 90-day TTL is applied at insert time too, so rows need current timestamps:
-- a row whose `timestamp` is already older than 90 days is silently dropped.

CREATE DATABASE IF NOT EXISTS telemetry;

CREATE TABLE IF NOT EXISTS telemetry.traces
(
    trace_id                        String,
    span_id                         String,
    parent_span_id                  String,
    timestamp                       DateTime,
    timestamp_ns                    UInt64,
    duration_ms                     Float64,
    service_name                    LowCardinality(String),
    span_name                       LowCardinality(String),
    span_kind                       LowCardinality(String),
    status_code                     String,
    status_message                  String,
    project_name                    LowCardinality(String),
    project_version                 LowCardinality(String),
    environment                     LowCardinality(String),
    hostname                        LowCardinality(String),
    attributes                      Map(String, String),
    user_id                         String,
    session_id                      String,
    os_type                         LowCardinality(String),
    os_version                      LowCardinality(String),
    runtime_name                    LowCardinality(String),
    runtime_version                 LowCardinality(String),
    cloud_provider                  LowCardinality(String),
    cloud_region                    LowCardinality(String),
    cloud_availability_zone         LowCardinality(String),
    instrumentation_library_name    LowCardinality(String),
    instrumentation_library_version LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (service_name, timestamp, trace_id)
TTL timestamp + INTERVAL 90 DAY
-- Remembers recent INSERT blocks, so a retried INSERT with the same
-- insert_deduplication_token adds no rows (replicated tables do this by default).
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS telemetry.metrics
(
    metric_id                       String,
    metric_name                     LowCardinality(String),
    metric_type                     Enum8('GAUGE' = 1, 'SUM' = 2, 'HISTOGRAM' = 3, 'EXPONENTIAL_HISTOGRAM' = 4, 'SUMMARY' = 5),
    metric_unit                     LowCardinality(String),
    metric_description              String,
    timestamp                       DateTime,
    timestamp_ns                    UInt64,
    time_window_start               DateTime,
    time_window_end                 DateTime,
    value_int                       Int64,
    value_double                    Float64,
    is_monotonic                    UInt8,
    aggregation_temporality         Enum8('UNSPECIFIED' = 0, 'DELTA' = 1, 'CUMULATIVE' = 2),
    histogram_count                 UInt64,
    histogram_sum                   Float64,
    histogram_min                   Float64,
    histogram_max                   Float64,
    histogram_bucket_counts         Array(UInt64),
    histogram_explicit_bounds       Array(Float64),
    summary_count                   UInt64,
    summary_sum                     Float64,
    quantile_values                 Map(String, Float64),
    project_name                    LowCardinality(String),
    project_version                 LowCardinality(String),
    service_name                    LowCardinality(String),
    service_namespace               LowCardinality(String),
    service_instance_id             String,
    environment                     LowCardinality(String),
    hostname                        LowCardinality(String),
    attributes                      Map(String, String),
    user_id                         String,
    session_id                      String,
    os_type                         LowCardinality(String),
    os_version                      LowCardinality(String),
    runtime_name                    LowCardinality(String),
    runtime_version                 LowCardinality(String),
    cloud_provider                  LowCardinality(String),
    cloud_region                    LowCardinality(String),
    cloud_availability_zone         LowCardinality(String),
    instrumentation_library_name    LowCardinality(String),
    instrumentation_library_version LowCardinality(String),
    schema_url                      String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (service_name, metric_name, timestamp)
TTL timestamp + INTERVAL 90 DAY
-- Remembers recent INSERT blocks, so a retried INSERT with the same
-- insert_deduplication_token adds no rows (replicated tables do this by default).
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS telemetry.logs
(
    log_id                          String,
    trace_id                        String,
    span_id                         String,
    timestamp                       DateTime,
    timestamp_ns                    UInt64,
    observed_timestamp              DateTime,
    observed_timestamp_ns           UInt64,
    severity_text                   LowCardinality(String),
    severity_number                 UInt8,
    body                            String,
    body_type                       Enum8('EMPTY' = 0, 'STRING' = 1, 'JSON' = 2, 'BYTES' = 3),
    project_name                    LowCardinality(String),
    project_version                 LowCardinality(String),
    service_name                    LowCardinality(String),
    service_namespace               LowCardinality(String),
    service_instance_id             String,
    environment                     LowCardinality(String),
    hostname                        LowCardinality(String),
    user_id                         String,
    session_id                      String,
    os_type                         LowCardinality(String),
    os_version                      LowCardinality(String),
    runtime_name                    LowCardinality(String),
    runtime_version                 LowCardinality(String),
    cloud_provider                  LowCardinality(String),
    cloud_region                    LowCardinality(String),
    cloud_availability_zone         LowCardinality(String),
    instrumentation_library_name    LowCardinality(String),
    instrumentation_library_version LowCardinality(String),
    attributes                      Map(String, String),
    schema_url                      String,
    exception_type                  String,
    exception_message               String,
    exception_stacktrace            String,
    is_exception                    UInt8
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (service_name, timestamp, severity_number)
TTL timestamp + INTERVAL 90 DAY
-- Remembers recent INSERT blocks, so a retried INSERT with the same
-- insert_deduplication_token adds no rows (replicated tables do this by default).
SETTINGS non_replicated_deduplication_window = 1000;
