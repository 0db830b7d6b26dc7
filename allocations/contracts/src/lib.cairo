pub mod local_pools;
pub mod risk_engine;
