"""What a request's numbers and free text may hold, shared by every domain (docs/api-errors.md).

Integers are bounded by what the column (or the JSON client) can hold, so an out-of-range value
is a 422 naming the parameter rather than an overflow in the database driver.
"""

INT16_MAX = 2**15 - 1
"""The largest value of a `SmallInteger` column or a 16-bit array field."""
INT32_MAX = 2**31 - 1
"""The largest value of an `Integer` column (PostgreSQL `integer`)."""
SAFE_INTEGER_MAX = 2**53 - 1
"""The largest integer every JSON client reads exactly (I-JSON); GitHub ids stay below it."""
