// LOCAL STAND-IN for Herodotus Integrity's FactRegistry, for tests and the demo on starknet-devnet
// only. It answers Integrity's views exactly (same structs, same FactRegistered event, same
// verification hash) but verifies no proof: its owner registers facts by hand. Never point a
// deployment that matters at it; on Sepolia and mainnet the RiskEngine reads Integrity itself.
#[starknet::interface]
pub trait ILocalFactRegistry<TContractState> {
    fn register_fact(
        ref self: TContractState,
        verifier_config: crate::integrity::VerifierConfiguration,
        fact_hash: crate::integrity::FactHash,
        security_bits: crate::integrity::SecurityBits,
    ) -> crate::integrity::FactRegistered;
    fn owner(self: @TContractState) -> starknet::ContractAddress;
}

#[starknet::contract]
pub mod LocalFactRegistry {
    use core::num::traits::Zero;
    use starknet::storage::{
        Map, MutableVecTrait, StoragePathEntry, StoragePointerReadAccess, StoragePointerWriteAccess, Vec,
        VecTrait,
    };
    use starknet::{ContractAddress, get_caller_address};
    use crate::integrity::{
        FactHash, FactRegistered, IFactRegistry, SecurityBits, Verification, VerificationHash,
        VerificationListElement, VerifierConfiguration, VerifierPreset, verification_hash,
    };

    #[storage]
    struct Storage {
        owner: ContractAddress,
        fact_verifications: Map<FactHash, Vec<VerificationHash>>,
        verifications: Map<VerificationHash, Option<Verification>>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        FactRegistered: FactRegistered,
    }

    #[constructor]
    fn constructor(ref self: ContractState, owner: ContractAddress) {
        self.owner.write(owner);
    }

    #[abi(embed_v0)]
    impl LocalFactRegistryImpl of super::ILocalFactRegistry<ContractState> {
        fn register_fact(
            ref self: ContractState,
            verifier_config: VerifierConfiguration,
            fact_hash: FactHash,
            security_bits: SecurityBits,
        ) -> FactRegistered {
            assert(get_caller_address() == self.owner.read(), 'ONLY_OWNER');
            let verification_hash = verification_hash(fact_hash, verifier_config, security_bits);
            let event = FactRegistered {
                fact_hash, verifier_address: Zero::zero(), security_bits, verifier_config, verification_hash,
            };
            self.emit(event);
            // As Integrity: the same (fact, configuration, bits) registered twice is listed once.
            let entry = self.verifications.entry(verification_hash);
            if entry.read().is_none() {
                self.fact_verifications.entry(fact_hash).append().write(verification_hash);
                entry.write(Option::Some(Verification { fact_hash, security_bits, verifier_config }));
            }
            event
        }

        fn owner(self: @ContractState) -> ContractAddress {
            self.owner.read()
        }
    }

    #[abi(embed_v0)]
    impl FactRegistryImpl of IFactRegistry<ContractState> {
        fn get_all_verifications_for_fact_hash(
            self: @ContractState, fact_hash: FactHash,
        ) -> Array<VerificationListElement> {
            let hashes = self.fact_verifications.entry(fact_hash);
            let mut list = array![];
            for i in 0..hashes.len() {
                let verification_hash = hashes.at(i).read();
                let verification = self.verifications.entry(verification_hash).read().unwrap();
                list
                    .append(
                        VerificationListElement {
                            verification_hash,
                            security_bits: verification.security_bits,
                            verifier_config: verification.verifier_config,
                        },
                    );
            };
            list
        }

        fn get_verification(self: @ContractState, verification_hash: VerificationHash) -> Option<Verification> {
            self.verifications.entry(verification_hash).read()
        }

        // No proof is ever verified here, so no verifier is registered for any preset.
        fn get_verifier_address(self: @ContractState, preset: VerifierPreset) -> ContractAddress {
            let VerifierPreset { layout: _, hasher: _ } = preset;
            core::panic_with_felt252('VERIFIER_NOT_FOUND')
        }
    }
}
