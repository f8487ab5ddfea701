"""Vocabulary of the offline route classifier: stop words, concept map, unsafe patterns.

Generic data-engineering words only; agents bring their own words in their descriptions.
"""

from __future__ import annotations

import re

TABLE_PREFIXES = frozenset("fct fact dim stg raw int src tmp tbl vw".split())
ELIDED = frozenset("c d j l m n qu s t".split())  # French elisions: d'incident, l'erreur
SEQUENCING = frozenset({"sequence", "coordinate", "multi_step", "step", "workflow", "plan"})

STOP_WORDS = frozenset("""
a an the and or but if of to in on at for from with without about into onto over under across between is are
was were be been being am do does did doing have has had having i me my mine we our ours us you your yours he
she they them their it its this that these those there here what which who whom whose when where why how
whats hows wheres whos thats theres heres can could would should will shall may might must please pls plz
thanks thank thx hey hi hello just quick quickly some any all every also too very really so as than such not
no yes ok okay need needs want wants like get gets got give gives gave tell let lets see look looks looking
make makes made sure thing things stuff something anything everything one ones im ive id youre dont didnt
doesnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt hasnt havent hadnt up out off down via etc
eg ie again still yet already now right new old latest last next first second current currently today
yesterday tonight tomorrow night morning evening afternoon hour minute hourly kind sort way bit lot lots much
many more most few couple own other another same only even ever always whether both either neither able
going gonna wanna gotta guys someone somebody whoever anyone anybody folks asap urgent soon use using used
happen happened happening go goes went gone take took find found show shows list display pull fetch two
three four five six seven eight nine ten hundred thousand
""".split())

# Generic data-engineering vocabulary: canonical concept -> surface variants (words or phrases).
# A canonical entry with several words emits several terms. Agent texts go through the same map.
CONCEPTS: dict[str, tuple[str, ...]] = {
    # pipelines and their health
    "fail": ("fail", "failure", "error", "errored", "exception", "crash", "broke", "broken", "break",
             "traceback", "stack trace", "stacktrace", "blew up", "blow up", "died", "fell over", "oom"),
    "late": ("late", "delayed", "delay", "overdue", "stuck", "hanging", "hung", "slow", "sla", "on time", "timeout",
             "timed out", "sla miss",
             "taking forever", "still running"),
    "retry": ("retry", "retries", "rerun", "re run", "restart", "retrigger", "re trigger"),
    "diagnose": ("diagnose", "diagnosis", "debug", "troubleshoot", "investigate", "root cause", "rca"),
    "pipeline": ("pipeline", "etl", "elt"),
    "dag": ("dag", "airflow"),
    "ingestion": ("ingestion", "ingest"),
    "load": ("load",),
    "log": ("log", "logfile", "log file"),
    "monitor": ("monitor", "watch", "keep an eye on"),
    # questions about data
    "count": ("count", "how many", "number of", "no of", "tally"),
    "total": ("total", "how much", "combined", "altogether", "in total", "overall total"),
    "sum": ("sum",),
    "average": ("average", "avg", "mean"),
    "top": ("top", "bottom", "highest", "lowest", "best selling", "worst selling", "largest", "biggest",
            "smallest"),
    "group": ("by", "per", "breakdown", "broken down", "split by", "group by", "grouped by", "grouping"),
    "filter": ("filter", "excluding", "exclude"),
    "join": ("join", "joined with", "merge"),
    "sql": ("sql", "query", "select"),
    "warehouse": ("warehouse", "dwh", "snowflake", "bigquery", "redshift", "data warehouse"),
    "month": ("month", "monthly", "mtd", "january", "february", "march", "april", "june", "july", "august",
              "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
              "sep", "sept", "oct", "nov", "dec"),
    "week": ("week", "weekly", "wtd", "wow"),
    "day": ("day", "daily", "nightly", "dod"),
    "quarter": ("quarter", "quarterly", "q1", "q2", "q3", "q4", "qtd"),
    "year": ("year", "yearly", "annual", "annually", "ytd", "yoy"),
    # profiling
    "profile": ("profile", "profiler", "eda", "explore", "exploratory", "exploration", "look like",
                "looks like"),
    "statistic": ("statistic", "stats", "stat", "describe", "summary statistics", "summary stats",
                  "descriptive statistics", "descriptive stats"),
    "null": ("null", "missing", "nan", "blank"),
    "null rate": ("null rate", "null ratio", "null percentage", "fill rate", "completeness", "missing rate"),
    "distinct": ("distinct", "cardinality", "nunique", "unique values", "distinct values"),
    "min max": ("min max", "min and max", "minimum", "maximum", "min", "max"),
    "quantile": ("quantile", "percentile", "median", "p50", "p90", "p95", "p99", "histogram", "iqr"),
    "top value": ("top values", "most common values", "most frequent values", "frequent values",
                  "value counts", "common values"),
    "type": ("type", "dtype", "dtypes", "datatype"),
    "row": ("row",),
    "row count": ("row count", "number of rows", "how many rows", "rowcount", "record count"),
    "column": ("column", "col", "cols", "field", "attribute"),
    "dataset": ("dataset", "data set"),
    # validation
    "validate": ("validate", "validation", "validator", "verify", "verification", "assert", "assertion",
                 "conform", "valid", "invalid", "validity"),
    "expectation": ("expectation", "great expectations", "gx", "expectation suite", "suite", "constraint", "rule"),
    "schema+expectation": ("contract", "data contract"),
    "quality": ("quality", "dq", "data quality"),
    "unique": ("unique", "uniqueness", "uniq", "duplicate", "dupe", "dups", "primary key", "pk"),
    "notnull": ("not null", "non null", "never null", "no nulls", "no null", "nullable", "not nullable",
                "non nullable"),
    "allowed value": ("allowed values", "accepted values", "valid values", "permitted values", "enum",
                      "allowed value", "only contains", "only contain", "one of", "must be one of"),
    "range": ("range", "bounds", "bounded", "non negative", "positive", "negative"),
    "schema": ("schema",),
    "check": ("check", "test"),
    # anomalies
    "anomaly": ("anomaly", "anomalous", "outlier", "abnormal", "unusual", "weird", "strange", "odd",
                "unexpected", "unexpectedly", "irregular", "zscore", "z score", "sigma", "aberrant", "deviation",
                "out of the ordinary", "looks off", "look off"),
    "spike": ("spike", "surge", "jump", "shot up", "peak", "burst"),
    "drop": ("drop", "dip", "fell", "fall", "plunge", "plummet", "tank", "crater", "decline", "fell off",
             "drop off", "dropoff"),
    "seasonal": ("seasonal", "seasonality", "baseline", "usual pattern", "normal pattern"),
    "time series": ("time series", "timeseries", "over time"),
    "metric": ("metric",),
    "kpi": ("kpi",),
    # machine learning: training
    "train": ("train", "retrain", "re train", "fit", "refit", "re fit", "finetune", "fine tune"),
    "hyperparameter": ("hyperparameter", "hyperparam", "hyper parameter"),
    "hyperparameter+search": ("hpo", "sweep", "grid search", "random search", "optuna",
                              "bayesian optimization"),
    "tune": ("tune", "tuning"),
    "launch": ("launch", "start", "spin up", "submit"),
    "job": ("job",),
    "model": ("model", "classifier", "regressor", "ml model"),
    # features
    "feature": ("feature", "featurize", "featurization", "feature store", "feature set"),
    "engineer": ("engineer", "engineering", "derive", "construct"),
    "encode": ("encode", "encoding", "one hot", "ohe", "label encoding", "target encoding", "embedding",
               "bucketize", "binning"),
    "window": ("window", "windowed", "rolling", "lag", "lagged", "moving average", "trailing"),
    "transform": ("transform", "transformation", "normalize", "normalise", "scaling", "impute", "imputation"),
    "aggregation": ("aggregation", "aggregate", "agg", "aggs"),
    # experiments
    "experiment": ("experiment", "mlflow", "wandb", "weights and biases", "neptune"),
    "parameter": ("parameter", "param", "config", "configuration", "settings"),
    "compare": ("compare", "comparison", "vs", "versus", "diff", "side by side"),
    "record": ("record", "track", "tracker"),
    "best": ("best", "best performing", "winner"),
    "best+run": ("leaderboard",),
    # evaluation
    "evaluate": ("evaluate", "evaluator", "evaluation", "eval", "evals", "assess", "assessment", "benchmark"),
    "accuracy": ("accuracy", "accurate", "rmse", "mae", "mape", "mse", "r squared", "log loss", "logloss",
                 "validation accuracy", "val accuracy", "val acc"),
    "precision+recall": ("false positives", "false negatives", "true positives", "f1", "f1 score", "fscore",
                         "f score", "confusion matrix", "pr curve"),
    "auc": ("auc", "roc", "roc auc", "auc roc", "roc curve", "gini", "area under the curve", "val auc",
            "validation auc"),
    "calibration": ("calibration", "calibrate", "brier", "reliability diagram"),
    "fairness": ("fairness", "fair", "bias", "biased", "unbiased", "disparate impact", "equal opportunity",
                 "demographic parity"),
    "holdout": ("holdout", "hold out", "test set", "test data", "validation set", "out of sample",
                "backtest"),
    "production": ("production", "prod"),
    "promote": ("promote", "promotion", "deploy", "deployment", "ship to prod", "go live", "roll out",
                "rollout", "fit to promote", "champion", "challenger", "sign off", "go no go"),
    "better": ("better", "worse", "outperform", "beat", "improvement"),
    # drift
    "drift": ("drift", "shift", "skew", "covariate shift", "concept drift", "data drift", "divergence", "kl",
              "kl divergence", "ks test", "kolmogorov smirnov", "wasserstein", "jensen shannon"),
    "population stability": ("psi", "population stability index", "population stability", "stability index"),
    "distribution": ("distribution", "distributional"),
    "live": ("live", "serving", "online", "inference", "production data", "scoring"),
    "input": ("input",),
    # reports
    "report+stakeholder": ("executive summary", "exec summary"),
    "report": ("report", "reporting", "status update", "write up", "writeup", "memo", "deck", "slides", "presentation",
               "newsletter", "one pager"),
    "document": ("document", "doc", "documentation"),
    "narrative": ("narrative", "story", "storytelling", "commentary"),
    "stakeholder": ("stakeholder", "leadership", "exec", "executive", "management", "board", "c suite", "cfo",
                    "ceo", "cto", "vp", "director"),
    "business review": ("business review", "qbr", "mbr", "wbr"),
    "write": ("write", "written", "draft", "compose", "put together", "prepare", "author"),
    "generate": ("generate", "produce"),
    "dashboard": ("dashboard", "looker", "tableau", "power bi"),
    # summaries
    "summary": ("summary", "summarizer", "summariser", "summarize", "summarise", "summarization",
                "summarisation", "sum up", "tldr", "tl dr", "recap", "digest", "gist", "condense", "synopsis",
                "key points", "key takeaways", "takeaways", "in a nutshell", "boil down", "short version", "bullets",
                "bullet points", "brief", "briefing"),
    "short": ("short", "shorter", "concise"),
    "thread": ("thread", "conversation", "discussion", "chat", "slack thread", "email thread"),
    "incident": ("incident", "outage", "postmortem", "post mortem", "sev0", "sev1", "sev2", "downtime"),
    "text": ("text", "transcript", "notes"),
    "output": ("output", "result"),
    "long": ("long", "lengthy", "verbose"),
    # alerts
    "alert": ("alert", "alarm", "mute", "silence", "snooze", "suppress"),
    "notify": ("notify", "notification", "inform", "let know", "heads up"),
    "oncall": ("on call", "oncall", "on duty", "sre"),
    "notify+oncall": ("page", "pager", "pagerduty", "opsgenie"),
    "channel": ("channel", "slack"),
    "message": ("message", "msg", "ping", "dm", "post"),
    "send": ("send", "sent"),
    "route": ("route", "routing", "forward", "escalate", "escalation"),
    "dedup": ("dedupe", "dedup", "deduplicate", "deduplication", "de dup", "de duplicate"),
    # orchestration
    "plan": ("plan", "roadmap", "runbook", "playbook"),
    "step": ("step", "stage", "phase", "break down"),
    "multi step": ("multi step", "multiple steps", "several steps", "end to end", "e2e"),
    "coordinate": ("coordinate", "coordinator", "coordination", "orchestrate", "orchestration", "chain"),
    "workflow": ("workflow", "work flow"),
    "trigger": ("trigger", "kick off", "kickoff", "kicks off", "fire off"),
    "sequence": ("sequence", "then", "after", "afterwards", "once", "followed by", "in order"),
    "upstream": ("upstream", "downstream", "dependency", "depends on", "wait for", "prerequisite"),
    "finish": ("finish", "done", "complete", "completed", "lands", "landed", "succeeded"),
    "rebuild": ("rebuild", "re build", "refresh", "backfill", "recompute"),
    "mart": ("mart", "data mart"),
    "goal": ("goal", "objective"),
    "agent": ("agent",),
}

# Requests a router must never dispatch on its own, whatever they resemble.
UNSAFE: tuple[tuple[str, re.Pattern[str]], ...] = tuple((reason, re.compile(pattern)) for reason, pattern in (
    ("prompt injection", r"\b(?:ignore|disregard|forget|override)\b.{0,40}?\b(?:instructions?|prompts?|rules|"
                         r"guidelines|directives)\b"),
    ("prompt injection", r"\b(?:system prompt|developer mode|jailbreak|you are now|pretend (?:to be|you are))\b"),
    ("destructive command", r"\b(?:drop|truncate)\s+(?:table|database|schema|view|index)\b"),
    ("destructive command", r"\b(?:delete\s+from|alter\s+table|insert\s+into|update\s+\w+\s+set)\b"),
    ("destructive command", r"\b(?:delete|wipe|erase|purge|destroy|nuke)\b.{0,30}?\b(?:all|every|everything|"
                            r"entire|whole)\b"),
    ("destructive command", r"\brm\s+-\w*[rf]|\bformat\s+the\s+disk\b|\bmkfs\b"),
    ("guard bypass", r"\b(?:disable|bypass|circumvent|turn off|deactivate|get around|skip|override)\b.{0,30}?"
                     r"\b(?:guard|guardrails?|approvals?|safety|safeguards?|permissions?|security|auth\w*|"
                     r"sandbox|envelope|review)\b"),
    ("secrets or exfiltration", r"\bexfiltrat\w*|\b(?:pastebin|ngrok|requestbin|webhook\.site)\b"),
    ("secrets or exfiltration", r"\b(?:passwords?|credentials?|api ?keys?|secret keys?|private keys?|"
                                r"access tokens?)\b"),
    ("privilege escalation", r"\bgrant\b.{0,30}?\b(?:admin|superuser|root|all privileges|owner)\b|\bsudo\b"),
    ("malicious intent", r"\b(?:hack|hacked|hacking|malware|ransomware|ddos|phishing)\b"),
))
