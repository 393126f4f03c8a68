"""billy-mcp's cache plugin: read-through L1 memory / L2 Redis / L3 SQL on the upstream chain.

The plugin module is :mod:`billy_cache.plugin` (entry point ``cache``); the tier backends
are :mod:`billy_cache.memory`, :mod:`billy_cache.redis_tier` and :mod:`billy_cache.sql_tier`
(namespace ``billy_mcp.cache_backends``).
"""
