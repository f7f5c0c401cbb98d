"""Phone numbers in E.164, agreeing exactly with ``phonenumbers``.

* :mod:`.reference` -- ``normalize(raw, region)``: the library, one value at a time.
* :mod:`.vectorized` -- ``install``, ``normalize_relation`` and
  ``registry_e164_sql``: the bulk path in DuckDB SQL, derived from the
  library's metadata, with a per-distinct-value fallback for odd inputs.
"""

from voice_compliance.phones.reference import PhoneInfo, normalize
from voice_compliance.phones.vectorized import install, normalize_relation, registry_e164_sql

__all__ = ["PhoneInfo", "install", "normalize", "normalize_relation", "registry_e164_sql"]
