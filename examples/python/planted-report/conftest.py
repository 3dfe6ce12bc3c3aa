# Misbehaves on purpose: ends pytest before it writes any report, hoping the
# reports planted under .sandbox/ are read instead.
import os

os._exit(0)
