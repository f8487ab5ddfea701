"""The SQL guard's function lists, per dialect (lower-case names): what is allowed, what is denied and why.

A call passes when one of its names is listed for the dialect: the name as written in the
SQL, or for typed nodes any of their ``sql_names()`` or their name as sqlglot renders it
(sqlglot parses ``strftime`` into ``TimeToStr``, ``date_trunc`` into ``TimestampTrunc``,
``->>`` into ``JSONExtractScalar``; those canonical names are listed too). Everything else
fails closed. The deny-lists win over the allow-list, so their messages stay specific.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["DENIED_PACKAGES", "allowed_functions", "denied_function"]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.lower().split())


AGGREGATE = _names("""
count count_if sum avg mean min max total group_concat string_agg listagg array_agg array_concat_agg
stddev stddev_pop stddev_samp stdev stdevp variance variance_pop variance_samp var_pop var_samp var
corr covar_pop covar_samp regr_slope regr_intercept regr_r2 regr_count regr_avgx regr_avgy
median mode percentile_cont percentile_disc quantile quantile_cont quantile_disc approx_quantiles
approx_percentile approx_count_distinct approx_distinct approx_top_k hll_count
bool_and bool_or every logical_and logical_or booland_agg boolor_agg bit_and bit_or bit_xor
any_value arbitrary first last first_value last_value arg_max arg_min argmax argmin max_by min_by
countif sumif avgif json_agg jsonb_agg json_object_agg jsonb_object_agg object_agg array_unique_agg
grouping grouping_id checksum_agg kurtosis skewness entropy histogram
""")
WINDOW = _names("""
row_number rank dense_rank percent_rank cume_dist ntile lag lead nth_value first_value last_value
ratio_to_report conditional_true_event conditional_change_event
""")
MATH = _names("""
abs sign signum ceil ceiling floor round trunc truncate mod div power pow sqrt cbrt exp ln log log2 log10
pi degrees radians sin cos tan asin acos atan atan2 cot sinh cosh tanh greatest least width_bucket
random rand safe_divide safe_add safe_subtract safe_multiply safe_negate factorial gcd lcm is_nan is_inf
isnan isinf bit_count square
""")
STRING = _names("""
lower upper lcase ucase initcap length len char_length character_length octet_length bit_length
substr substring substring_index left right trim ltrim rtrim btrim lpad rpad pad replace translate
concat concat_ws reverse repeat replicate split split_part strpos str_position position instr locate
charindex patindex starts_with startswith ends_with endswith contains like ilike glob
regexp_like regexp_replace regexp_substr regexp_extract regexp_extract_all regexp_count regexp_instr
regexp_matches regexp_split_to_array regexp_split_to_table regexp_contains rlike similar_to
format printf format_string char chr ascii unicode hex unhex to_hex md5 sha1 sha2 sha256 soundex
quote quote_ident quote_literal quote_nullable space stuff string_to_array array_to_string
levenshtein jarowinkler_similarity editdistance normalize to_base64 from_base64 base64 url_decode
url_encode decode encode collate nchar str
""")
DATETIME = _names("""
now current_date current_time current_timestamp localtime localtimestamp sysdate systimestamp getdate
getutcdate sysdatetime clock_timestamp statement_timestamp transaction_timestamp timeofday
date time datetime timestamp strftime strptime date_format time_format
to_char to_date to_timestamp to_time to_number to_varchar to_datetime try_to_date try_to_timestamp
extract date_part datepart datename date_trunc datetrunc trunc_date time_trunc timestamp_trunc
datetime_trunc date_add date_sub dateadd datediff date_diff datetime_add datetime_sub datetime_diff
timestamp_add timestamp_sub timestamp_diff timestampadd timestampdiff time_add time_sub time_diff
timediff add_months months_between last_day next_day age make_date make_time make_timestamp
make_interval justify_days justify_hours justify_interval date_from_parts datefromparts
timestamp_from_parts time_from_parts year quarter month week weekofyear day dayofmonth dayofweek
dayofyear day_of_week day_of_month day_of_year iso_week isoweek yearweek hour minute second
millisecond microsecond epoch epoch_ms monthname dayname from_unixtime unix_timestamp to_unixtime
from_iso8601_timestamp from_iso8601_date format_date format_datetime format_timestamp parse_date
parse_datetime parse_timestamp current_datetime convert_timezone from_utc_timestamp to_utc_timestamp
at_timezone isfinite eomonth generate_date_array
time_to_str str_to_time str_to_date ts_or_ds_to_date ts_or_ds_to_timestamp ts_or_ds_to_time
ts_or_ds_add ts_or_ds_diff time_str_to_time time_str_to_date time_str_to_unix time_to_unix
time_to_time_str unix_to_time unix_to_str unix_to_time_str date_to_date_str date_str_to_date
date_to_di di_to_date str_to_unix timestamp_from_parts date_from_unix_date unix_date
unix_seconds unix_millis unix_micros
""")
CONDITIONAL = _names("""
case if iif ifnull isnull nvl nvl2 coalesce nullif nullifzero zeroifnull decode decode_case choose
try try_cast safe_cast equal_null is_null_value
""")
CAST = _names("""
cast try_cast safe_cast convert to_char to_number to_decimal to_double to_boolean to_variant
typeof pg_typeof bool int float double real text varchar string
""")
JSON = _names("""
json json_extract json_extract_scalar json_extract_path json_extract_path_text jsonb_extract_path
jsonb_extract_path_text json_value json_query json_object json_array json_build_object
jsonb_build_object json_build_array jsonb_build_array json_array_length jsonb_array_length
json_typeof jsonb_typeof json_each jsonb_each json_each_text jsonb_each_text json_array_elements
jsonb_array_elements json_array_elements_text jsonb_array_elements_text json_object_keys
jsonb_object_keys to_json to_jsonb row_to_json array_to_json json_strip_nulls jsonb_strip_nulls
jsonb_pretty jsonb_path_query jsonb_path_query_first jsonb_path_exists json_tree json_valid json_type
json_group_array json_group_object json_patch json_remove json_set json_insert json_replace
json_quote json_contains json_keys json_length json_unquote json_search json_format parse_json
try_parse_json json_extract_array json_extract_string_array json_query_array json_value_array
to_json_string get get_path object_construct object_keys array_construct is_json check_json
json_exists jsonb_contains jsonb_exists json_extract_scalar json_b_extract json_b_extract_scalar
json_b_contains json_format xpath xmlelement xmlagg json_arrayagg json_objectagg jsonb_set jsonb_insert
jsonb_set_lax jsonb_path_match jsonb_path_query_array jsonb_exists_any jsonb_exists_all json_scalar
""")
ARRAY = _names("""
array array_length array_size cardinality array_contains array_position array_positions array_append
array_prepend array_cat array_remove array_replace array_distinct array_sort array_slice array_join
array_max array_min array_sum array_agg array_filter array_transform array_intersect array_union
array_any array_all array_first array_last array_reverse array_compact array_flatten flatten
element_at unnest generate_series sequence range explode posexplode split_to_array struct
map map_keys map_values array_has arrays_overlap array_overlaps zip list_value list_contains
""")
MISC = _names("""
hash farm_fingerprint uuid gen_random_uuid newid md5_number_lower64 current_user session_user user
current_schema current_database current_catalog current_role version
pg_is_in_recovery current_version exploding_generate_series get_extract has_table_privilege has_column_privilege
has_schema_privilege
""")

COMMON = AGGREGATE | WINDOW | MATH | STRING | DATETIME | CONDITIONAL | CAST | JSON | ARRAY | MISC

DIALECT_EXTRAS = {
    "sqlite": _names("""
        julianday unixepoch likelihood likely unlikely sqlite_version
    """),
    "postgres": _names("""
        date_bin to_tsvector to_tsquery plainto_tsquery websearch_to_tsquery ts_rank ts_headline
        string_to_table array_ndims array_dims array_lower array_upper num_nonnulls num_nulls
        format_type obj_description col_description pg_size_pretty pg_total_relation_size
        pg_relation_size pg_table_size row
    """),
    "redshift": _names("getdate sysdate convert_timezone datediff dateadd listagg nvl2 len"),
    "mysql": _names("date_format str_to_date curdate curtime utc_date utc_timestamp ifnull field elt "
                    "find_in_set insert_str weekday last_insert_id found_rows"),
    "tsql": _names("getdate getutcdate datename datepart datefromparts eomonth iif isnull format "
                   "charindex patindex stuff string_split try_convert convert len newid"),
    "oracle": _names("sysdate systimestamp nvl nvl2 decode to_char to_date add_months months_between "
                     "listagg regexp_substr instr substr trunc round"),
    "snowflake": _names("iff div0 div0null zeroifnull nullifzero to_varchar try_to_number array_construct "
                        "object_construct get get_path flatten parse_json try_parse_json boolor_agg "
                        "booland_agg approx_count_distinct hll"),
    "bigquery": _names("safe_divide generate_date_array date_diff format_date parse_date "
                       "farm_fingerprint approx_quantiles countif logical_and logical_or string_agg"),
    "duckdb": _names("list_value list_contains epoch_ms strptime strftime arg_max arg_min quantile_cont "
                     "quantile_disc date_diff date_part"),
    "trino": _names("approx_distinct approx_percentile date_diff date_add format_datetime "
                    "from_iso8601_timestamp to_unixtime element_at cardinality"),
}
# sqlglot names for functions that reach the outside world: never allowed, whatever the lists say.
NEVER = _names("""
changes total_changes last_insert_rowid randomblob zeroblob last_insert_id found_rows
""")




@lru_cache(maxsize=None)
def allowed_functions(dialect: str) -> frozenset[str]:
    """The lower-case function names calls in ``dialect`` may use."""
    return (COMMON | DIALECT_EXTRAS.get(dialect, frozenset())) - NEVER


DELAY = "delays execution"
SERVER = "controls or reconfigures the server"
FILES = "accesses files, large objects or the environment"
REMOTE = "reaches other databases or the operating system"
STATE = "changes sequences, locks or notifications"
DYNAMIC = "runs SQL built from a string"
INTERNALS = "reveals server settings, statistics, transaction ids or database internals"

# Each category's names; the deny-lists win over the allow-list.
DENIED = {
    DELAY: _names("sleep pg_sleep pg_sleep_for pg_sleep_until benchmark waitfor system$wait"),
    SERVER: _names("""
        pg_terminate_backend pg_cancel_backend pg_reload_conf pg_rotate_logfile pg_promote set_config
        pg_switch_wal pg_switch_xlog pg_create_restore_point pg_start_backup pg_stop_backup pg_backup_start
        pg_backup_stop pg_wal_replay_pause pg_wal_replay_resume pg_logical_emit_message
        pg_create_physical_replication_slot pg_create_logical_replication_slot pg_drop_replication_slot
        pg_import_system_collations
    """),
    FILES: _names("""
        pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file pg_logdir_ls lo_import lo_export lo_get lo_put
        lo_open lo_create lo_creat lo_unlink lo_from_bytea loread lowrite load_file load_extension readfile
        writefile edit fts3_tokenizer parquet_scan sniff_csv getenv openrowset opendatasource
    """),
    REMOTE: _names("openquery xp_cmdshell system sys_exec sys_eval shell"),
    STATE: _names("nextval setval pg_notify get_lock release_lock release_all_locks"),
    DYNAMIC: _names("exec execute eval sp_executesql query query_table ts_stat"),
    INTERNALS: _names("""
        current_setting pg_show_all_settings pg_settings_get_flags pg_backend_pid pg_blocking_pids
        pg_safe_snapshot_blocking_pids pg_postmaster_start_time pg_conf_load_time pg_current_logfile
        pg_jit_available pg_listening_channels pg_notification_queue_usage pg_trigger_depth pg_export_snapshot
        pg_last_committed_xact pg_current_snapshot pg_visible_in_snapshot mxid_age inet_server_addr
        inet_server_port inet_client_addr inet_client_port pg_describe_object pg_identify_object
        pg_identify_object_as_address pg_wal_lsn_diff pg_walfile_name pg_walfile_name_offset
        sqlite_offset sqlite_source_id sqlite_compileoption_get sqlite_compileoption_used
    """),
}
# Name prefixes denied like the sets above (whole families of functions).
DENIED_PREFIXES = (
    ("pg_advisory", STATE), ("pg_try_advisory", STATE), ("pg_stat_reset", SERVER), ("system$", SERVER),
    ("pg_ls_", FILES), ("pg_file_", FILES), ("lo_", FILES), ("read_", FILES), ("dblink", REMOTE), ("xp_", REMOTE),
    ("query_to_xml", DYNAMIC), ("table_to_xml", DYNAMIC), ("cursor_to_xml", DYNAMIC), ("schema_to_xml", DYNAMIC),
    ("database_to_xml", DYNAMIC), ("txid_", INTERNALS), ("pg_current_xact", INTERNALS), ("pg_xact_", INTERNALS),
    ("pg_snapshot_", INTERNALS), ("pg_stat_", INTERNALS), ("pg_control_", INTERNALS), ("pg_current_wal", INTERNALS),
    ("pg_last_wal", INTERNALS), ("pg_get_", INTERNALS), ("pg_relation_file", INTERNALS), ("pragma_", INTERNALS),
)
# Dialect-only entries: DuckDB's glob() lists server files (SQLite's glob() is a harmless string match).
DIALECT_DENIED = {"duckdb": {"glob": FILES}}
# Oracle system packages, called as package.function(...).
DENIED_PACKAGES = _names("""
    dbms_lock dbms_pipe dbms_sql dbms_xmlgen dbms_scheduler dbms_java dbms_ldap utl_http utl_file utl_inaddr utl_tcp
    utl_smtp httpuritype
""")


_DENIED_BY_NAME = {name: category for category, names in DENIED.items() for name in names}
_PREFIXES = tuple(prefix for prefix, _ in DENIED_PREFIXES)


@lru_cache(maxsize=4096)
def denied_function(name: str, dialect: str) -> str | None:
    """Why calling ``name`` (lower-case) is denied in ``dialect``, or None when no deny-list names it."""
    if category := _DENIED_BY_NAME.get(name) or DIALECT_DENIED.get(dialect, {}).get(name):
        return category
    if not name.startswith(_PREFIXES):
        return None
    return next(category for prefix, category in DENIED_PREFIXES if name.startswith(prefix))
