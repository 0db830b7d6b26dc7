// Obsqra's RiskEngine: executes an allocation only when Integrity holds a proof of exactly the
// decision it is given. The caller passes the Cairo statement's output (proofs/cairo_statement.py,
// 41 felts); the engine recomputes the bootloaded fact from it, so the fact binds the model, the
// metrics, the policy and the split, and no registered fact of anything else can stand in for it.
use core::hash::HashStateTrait;
use core::poseidon::PoseidonTrait;
use obsqra_proofs::integrity::VerifierConfiguration;

// The statement's output layout (proofs/cairo_statement.py OUTPUT_*).
pub const OUTPUT_SIZE: u32 = 41;
pub const OUTPUT_MODEL_HASH: u32 = 0;
pub const OUTPUT_POLICY: u32 = 32;
pub const OUTPUT_JEDISWAP_PCT: u32 = 38;
pub const OUTPUT_EKUBO_PCT: u32 = 39;
pub const OUTPUT_VIOLATIONS: u32 = 40;

// Integrity's SHARP_BOOTLOADER_PROGRAM_HASH: Atlantic proves a Cairo PIE under this bootloader.
pub const SHARP_BOOTLOADER_PROGRAM_HASH: felt252 =
    0x5ab580b04e3532b6b18f81cfa654a05e29dd8e2352d88df1e765a84072db07;

// The DAO policy as the statement writes it (bps, count, bps, liquidity tier).
#[derive(Drop, Copy, PartialEq, Serde, starknet::Store)]
pub struct Policy {
    pub max_single: felt252,
    pub min_diversification: felt252,
    pub max_volatility: felt252,
    pub min_liquidity: felt252,
}

#[derive(Drop, Copy, PartialEq, Serde, starknet::Store)]
pub struct Allocation {
    pub model_hash: felt252,
    pub fact_hash: felt252,
    pub jediswap_pct: felt252,
    pub ekubo_pct: felt252,
}

// Two roles: the owner (the DAO's key) approves models and sets the policy; the executor (the
// service's hot key) can only execute proven decisions, so a leaked server key changes no rule.
#[starknet::interface]
pub trait IRiskEngine<TContractState> {
    fn approve_model(ref self: TContractState, model_hash: felt252);
    fn revoke_model(ref self: TContractState, model_hash: felt252);
    fn set_executor(ref self: TContractState, executor: starknet::ContractAddress);
    fn set_policy(ref self: TContractState, policy: Policy);
    fn accept_verifier_config(ref self: TContractState, config: VerifierConfiguration);
    fn execute_decision(ref self: TContractState, decision_id: u64, output: Span<felt252>);
    fn is_model_approved(self: @TContractState, model_hash: felt252) -> bool;
    fn policy(self: @TContractState) -> Policy;
    fn is_verifier_config_accepted(self: @TContractState, config: VerifierConfiguration) -> bool;
    fn min_security_bits(self: @TContractState) -> u32;
    fn fact_registry(self: @TContractState) -> starknet::ContractAddress;
    fn statement_program_hash(self: @TContractState) -> felt252;
    fn owner(self: @TContractState) -> starknet::ContractAddress;
    fn executor(self: @TContractState) -> starknet::ContractAddress;
    fn allocation(self: @TContractState, decision_id: u64) -> Option<Allocation>;
    fn decision_fact(self: @TContractState, output: Span<felt252>) -> felt252;
}

// Integrity's calculate_bootloaded_fact_hash: the simple bootloader's output for one task is
// [1, len(output) + 2, program_hash, *output]; the fact is H(bootloader_hash, H(that output)).
pub fn bootloaded_fact(
    bootloader_program_hash: felt252, program_hash: felt252, output: Span<felt252>,
) -> felt252 {
    let mut task = PoseidonTrait::new().update(1).update(output.len().into() + 2).update(program_hash);
    for felt in output {
        task = task.update(*felt);
    };
    PoseidonTrait::new().update(bootloader_program_hash).update(task.finalize()).finalize()
}

#[starknet::contract]
pub mod RiskEngine {
    use starknet::storage::{
        Map, StoragePathEntry, StoragePointerReadAccess, StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};
    use obsqra_proofs::integrity::{
        IFactRegistryDispatcher, IFactRegistryDispatcherTrait, VerifierConfiguration, verifier_config_hash,
    };
    use super::{
        Allocation, OUTPUT_EKUBO_PCT, OUTPUT_JEDISWAP_PCT, OUTPUT_MODEL_HASH, OUTPUT_POLICY, OUTPUT_SIZE,
        OUTPUT_VIOLATIONS, Policy, SHARP_BOOTLOADER_PROGRAM_HASH, bootloaded_fact,
    };

    #[storage]
    struct Storage {
        owner: ContractAddress,
        executor: ContractAddress,
        fact_registry: ContractAddress,
        statement_program_hash: felt252,
        min_security_bits: u32,
        approved_models: Map<felt252, bool>,
        policy: Policy,
        accepted_configs: Map<felt252, bool>,
        allocations: Map<u64, Option<Allocation>>,
        used_facts: Map<felt252, bool>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        ModelApproved: ModelApproved,
        ModelRevoked: ModelRevoked,
        ExecutorSet: ExecutorSet,
        PolicySet: PolicySet,
        VerifierConfigAccepted: VerifierConfigAccepted,
        AllocationExecuted: AllocationExecuted,
    }

    #[derive(Drop, starknet::Event)]
    pub struct ModelApproved {
        #[key]
        pub model_hash: felt252,
    }

    #[derive(Drop, starknet::Event)]
    pub struct ModelRevoked {
        #[key]
        pub model_hash: felt252,
    }

    #[derive(Drop, starknet::Event)]
    pub struct ExecutorSet {
        pub executor: ContractAddress,
    }

    #[derive(Drop, starknet::Event)]
    pub struct PolicySet {
        pub policy: Policy,
    }

    #[derive(Drop, starknet::Event)]
    pub struct VerifierConfigAccepted {
        pub config: VerifierConfiguration,
    }

    #[derive(Drop, starknet::Event)]
    pub struct AllocationExecuted {
        #[key]
        pub decision_id: u64,
        #[key]
        pub model_hash: felt252,
        pub fact_hash: felt252,
        pub jediswap_pct: felt252,
        pub ekubo_pct: felt252,
    }

    #[constructor]
    fn constructor(
        ref self: ContractState,
        owner: ContractAddress,
        executor: ContractAddress,
        fact_registry: ContractAddress,
        statement_program_hash: felt252,
        min_security_bits: u32,
    ) {
        self.owner.write(owner);
        self.executor.write(executor);
        self.fact_registry.write(fact_registry);
        self.statement_program_hash.write(statement_program_hash);
        self.min_security_bits.write(min_security_bits);
    }

    #[generate_trait]
    impl InternalImpl of InternalTrait {
        fn assert_owner(self: @ContractState) {
            assert(get_caller_address() == self.owner.read(), 'ONLY_OWNER');
        }

        fn assert_executor(self: @ContractState) {
            assert(get_caller_address() == self.executor.read(), 'ONLY_EXECUTOR');
        }

        // Anyone can register any fact under any settings: only a verification with an accepted
        // configuration and enough bits counts. The reason names what the best candidate lacked.
        fn assert_verified(self: @ContractState, fact_hash: felt252) {
            let registry = IFactRegistryDispatcher { contract_address: self.fact_registry.read() };
            let verifications = registry.get_all_verifications_for_fact_hash(fact_hash);
            assert(verifications.len() > 0, 'FACT_NOT_REGISTERED');
            let min_bits = self.min_security_bits.read();
            let mut config_accepted = false;
            let mut verified = false;
            for verification in verifications.span() {
                if self.accepted_configs.entry(verifier_config_hash(*verification.verifier_config)).read() {
                    config_accepted = true;
                    if *verification.security_bits >= min_bits {
                        verified = true;
                    }
                }
            };
            assert(config_accepted, 'VERIFIER_CONFIG_NOT_ACCEPTED');
            assert(verified, 'SECURITY_BITS_TOO_LOW');
        }
    }

    #[abi(embed_v0)]
    impl RiskEngineImpl of super::IRiskEngine<ContractState> {
        fn approve_model(ref self: ContractState, model_hash: felt252) {
            self.assert_owner();
            self.approved_models.entry(model_hash).write(true);
            self.emit(ModelApproved { model_hash });
        }

        fn revoke_model(ref self: ContractState, model_hash: felt252) {
            self.assert_owner();
            self.approved_models.entry(model_hash).write(false);
            self.emit(ModelRevoked { model_hash });
        }

        fn set_executor(ref self: ContractState, executor: ContractAddress) {
            self.assert_owner();
            self.executor.write(executor);
            self.emit(ExecutorSet { executor });
        }

        fn set_policy(ref self: ContractState, policy: Policy) {
            self.assert_owner();
            self.policy.write(policy);
            self.emit(PolicySet { policy });
        }

        fn accept_verifier_config(ref self: ContractState, config: VerifierConfiguration) {
            self.assert_owner();
            self.accepted_configs.entry(verifier_config_hash(config)).write(true);
            self.emit(VerifierConfigAccepted { config });
        }

        fn execute_decision(ref self: ContractState, decision_id: u64, output: Span<felt252>) {
            self.assert_executor();
            assert(output.len() == OUTPUT_SIZE, 'BAD_OUTPUT_LENGTH');
            assert(self.allocations.entry(decision_id).read().is_none(), 'DECISION_ALREADY_EXECUTED');
            let model_hash = *output.at(OUTPUT_MODEL_HASH);
            assert(self.approved_models.entry(model_hash).read(), 'MODEL_NOT_APPROVED');
            let policy = Policy {
                max_single: *output.at(OUTPUT_POLICY),
                min_diversification: *output.at(OUTPUT_POLICY + 1),
                max_volatility: *output.at(OUTPUT_POLICY + 2),
                min_liquidity: *output.at(OUTPUT_POLICY + 3),
            };
            assert(policy == self.policy.read(), 'POLICY_MISMATCH');
            assert(*output.at(OUTPUT_VIOLATIONS) == 0, 'POLICY_VIOLATED');

            let fact_hash = self.decision_fact(output);
            // One proof, one execution: the same statement cannot fund a second decision id.
            assert(!self.used_facts.entry(fact_hash).read(), 'FACT_ALREADY_EXECUTED');
            self.assert_verified(fact_hash);

            let allocation = Allocation {
                model_hash,
                fact_hash,
                jediswap_pct: *output.at(OUTPUT_JEDISWAP_PCT),
                ekubo_pct: *output.at(OUTPUT_EKUBO_PCT),
            };
            self.used_facts.entry(fact_hash).write(true);
            self.allocations.entry(decision_id).write(Option::Some(allocation));
            self
                .emit(
                    AllocationExecuted {
                        decision_id,
                        model_hash,
                        fact_hash,
                        jediswap_pct: allocation.jediswap_pct,
                        ekubo_pct: allocation.ekubo_pct,
                    },
                );
        }

        fn is_model_approved(self: @ContractState, model_hash: felt252) -> bool {
            self.approved_models.entry(model_hash).read()
        }

        fn policy(self: @ContractState) -> Policy {
            self.policy.read()
        }

        fn is_verifier_config_accepted(self: @ContractState, config: VerifierConfiguration) -> bool {
            self.accepted_configs.entry(verifier_config_hash(config)).read()
        }

        fn min_security_bits(self: @ContractState) -> u32 {
            self.min_security_bits.read()
        }

        fn fact_registry(self: @ContractState) -> ContractAddress {
            self.fact_registry.read()
        }

        fn statement_program_hash(self: @ContractState) -> felt252 {
            self.statement_program_hash.read()
        }

        fn owner(self: @ContractState) -> ContractAddress {
            self.owner.read()
        }

        fn executor(self: @ContractState) -> ContractAddress {
            self.executor.read()
        }

        fn allocation(self: @ContractState, decision_id: u64) -> Option<Allocation> {
            self.allocations.entry(decision_id).read()
        }

        // The fact execute_decision requires for this output: what Integrity must hold.
        fn decision_fact(self: @ContractState, output: Span<felt252>) -> felt252 {
            bootloaded_fact(SHARP_BOOTLOADER_PROGRAM_HASH, self.statement_program_hash.read(), output)
        }
    }
}
