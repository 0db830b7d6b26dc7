// Herodotus Integrity's FactRegistry view interface, the part a consumer of facts depends on.
// Field names, order and types follow HerodotusDev/integrity at commit
// 4ce9504fdc933171251cf7473b75ab67db5e03b6 (src/settings.cairo, src/contracts/fact_registry_interface.cairo,
// src/contracts/fact_registry.cairo, src/lib_utils.cairo), so calldata and answers are
// byte-for-byte those of the deployed registry.
use core::poseidon::PoseidonTrait;
use core::hash::HashStateTrait;
use starknet::ContractAddress;

pub type FactHash = felt252;
pub type VerificationHash = felt252;
pub type SecurityBits = u32;

// Short strings: layout ('recursive'), hasher ('keccak_160_lsb'), stone_version ('stone6'),
// memory_verification ('strict' | 'relaxed' | 'cairo1').
#[derive(Drop, Copy, PartialEq, Serde, starknet::Store)]
pub struct VerifierConfiguration {
    pub layout: felt252,
    pub hasher: felt252,
    pub stone_version: felt252,
    pub memory_verification: felt252,
}

#[derive(Drop, Copy, Serde)]
pub struct VerifierPreset {
    pub layout: felt252,
    pub hasher: felt252,
}

#[derive(Drop, Copy, Serde)]
pub struct VerificationListElement {
    pub verification_hash: VerificationHash,
    pub security_bits: SecurityBits,
    pub verifier_config: VerifierConfiguration,
}

#[derive(Drop, Copy, Serde, starknet::Store)]
pub struct Verification {
    pub fact_hash: FactHash,
    pub security_bits: SecurityBits,
    pub verifier_config: VerifierConfiguration,
}

#[starknet::interface]
pub trait IFactRegistry<TContractState> {
    fn get_all_verifications_for_fact_hash(
        self: @TContractState, fact_hash: FactHash,
    ) -> Array<VerificationListElement>;
    fn get_verification(self: @TContractState, verification_hash: VerificationHash) -> Option<Verification>;
    fn get_verifier_address(self: @TContractState, preset: VerifierPreset) -> ContractAddress;
}

// Every key is indexed, as in Integrity, so a fact's registrations can be found by fact hash.
#[derive(Drop, Copy, Serde, starknet::Event)]
pub struct FactRegistered {
    #[key]
    pub fact_hash: FactHash,
    #[key]
    pub verifier_address: ContractAddress,
    #[key]
    pub security_bits: SecurityBits,
    #[key]
    pub verifier_config: VerifierConfiguration,
    #[key]
    pub verification_hash: VerificationHash,
}

pub fn verifier_config_hash(config: VerifierConfiguration) -> felt252 {
    PoseidonTrait::new()
        .update(config.layout)
        .update(config.hasher)
        .update(config.stone_version)
        .update(config.memory_verification)
        .finalize()
}

pub fn verification_hash(
    fact_hash: FactHash, config: VerifierConfiguration, security_bits: SecurityBits,
) -> VerificationHash {
    PoseidonTrait::new()
        .update(fact_hash)
        .update(verifier_config_hash(config))
        .update(security_bits.into())
        .finalize()
}
