"""The system under test on loopback: the real Hive, its tools server, the LLM stub, and their faults."""
