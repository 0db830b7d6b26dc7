pub mod integrity;
pub mod local_fact_registry;
