"""The Pinterest domain: tables, topics, batch choice, extraction and the landing check.

Nothing here speaks HTTP; the DAG wires these functions to Airflow hooks.
"""
