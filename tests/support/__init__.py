"""What tests share: builders of tiny models and worlds, servers started on a free port,
and the fakes that isolate a part under test (each named as one)."""
