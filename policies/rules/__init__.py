"""The rules. Importing this package registers every rule with `policies.registry`.

One module per family of controls; each rule is a small pure function with its metadata.
"""

from policies.rules import (  # noqa: F401
    access,
    audit,
    classification,
    coverage,
    encryption_at_rest,
    encryption_in_transit,
    live,
    residency,
    retention,
    service_logs,
    store_settings,
)
