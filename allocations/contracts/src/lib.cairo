pub mod risk_engine;
