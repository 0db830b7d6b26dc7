// LOCAL STAND-INs for a JediSwap pair and Ekubo's core, for tests and the demo on starknet-devnet
// only. They answer exactly the views allocations/metrics_reader.py reads, with the owners'
// signatures, but hold no tokens and run no swaps: their owner sets the state by hand. On Sepolia
// and mainnet the reader points at the real pair and core.
//
// JediSwap: get_reserves as in jediswaplabs/JediSwap at commit 10166d7d901225de056fd817f146a586428a131e,
// src/PairC1.cairo (IPairC1::get_reserves -> (u256, u256, u64), block_timestamp_last stamped by _update).
// Ekubo: PoolKey, PoolPrice, i129, get_pool_price and get_pool_liquidity as in
// EkuboProtocol/starknet-contracts at commit 05e3fb099d1b5868b0c9c2670b43dce109774e0f
// (src/types/keys.cairo, src/types/pool_price.cairo, src/types/i129.cairo, src/interfaces/core.cairo).
use starknet::ContractAddress;

#[derive(Copy, Drop, Serde, PartialEq, Hash)]
pub struct PoolKey {
    pub token0: ContractAddress,
    pub token1: ContractAddress,
    pub fee: u128,
    pub tick_spacing: u128,
    pub extension: ContractAddress,
}

#[derive(Copy, Drop, Serde, PartialEq, starknet::Store)]
pub struct i129 {
    pub mag: u128,
    pub sign: bool,
}

#[derive(Copy, Drop, Serde, PartialEq, starknet::Store)]
pub struct PoolPrice {
    pub sqrt_ratio: u256,
    pub tick: i129,
}

#[starknet::interface]
pub trait IJediSwapPairReserves<TContractState> {
    fn get_reserves(self: @TContractState) -> (u256, u256, u64);
}

#[starknet::interface]
pub trait IEkuboCorePools<TContractState> {
    fn get_pool_price(self: @TContractState, pool_key: PoolKey) -> PoolPrice;
    fn get_pool_liquidity(self: @TContractState, pool_key: PoolKey) -> u128;
}

#[starknet::interface]
pub trait ILocalJediSwapPair<TContractState> {
    fn set_reserves(ref self: TContractState, reserve0: u256, reserve1: u256);
    fn owner(self: @TContractState) -> ContractAddress;
}

#[starknet::interface]
pub trait ILocalEkuboCore<TContractState> {
    fn set_pool(ref self: TContractState, pool_key: PoolKey, price: PoolPrice, liquidity: u128);
    fn owner(self: @TContractState) -> ContractAddress;
}

#[starknet::contract]
pub mod LocalJediSwapPair {
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use starknet::{ContractAddress, get_block_timestamp, get_caller_address};

    #[storage]
    struct Storage {
        owner: ContractAddress,
        reserve0: u256,
        reserve1: u256,
        block_timestamp_last: u64,
    }

    #[constructor]
    fn constructor(ref self: ContractState, owner: ContractAddress) {
        self.owner.write(owner);
    }

    #[abi(embed_v0)]
    impl ReservesImpl of super::IJediSwapPairReserves<ContractState> {
        fn get_reserves(self: @ContractState) -> (u256, u256, u64) {
            (self.reserve0.read(), self.reserve1.read(), self.block_timestamp_last.read())
        }
    }

    #[abi(embed_v0)]
    impl LocalImpl of super::ILocalJediSwapPair<ContractState> {
        // As the pair's _update after a swap or a sync: new reserves, stamped with this block's time.
        fn set_reserves(ref self: ContractState, reserve0: u256, reserve1: u256) {
            assert(get_caller_address() == self.owner.read(), 'ONLY_OWNER');
            self.reserve0.write(reserve0);
            self.reserve1.write(reserve1);
            self.block_timestamp_last.write(get_block_timestamp());
        }

        fn owner(self: @ContractState) -> ContractAddress {
            self.owner.read()
        }
    }
}

#[starknet::contract]
pub mod LocalEkuboCore {
    use starknet::storage::{
        Map, StoragePathEntry, StoragePointerReadAccess, StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};
    use super::{PoolKey, PoolPrice};

    // Keyed by the pool key's hash, as Ekubo's core keys its pool maps: an unknown key reads zero,
    // which is what the core answers for a pool that was never initialised.
    #[storage]
    struct Storage {
        owner: ContractAddress,
        pool_price: Map<PoolKey, PoolPrice>,
        pool_liquidity: Map<PoolKey, u128>,
    }

    #[constructor]
    fn constructor(ref self: ContractState, owner: ContractAddress) {
        self.owner.write(owner);
    }

    #[abi(embed_v0)]
    impl PoolsImpl of super::IEkuboCorePools<ContractState> {
        fn get_pool_price(self: @ContractState, pool_key: PoolKey) -> PoolPrice {
            self.pool_price.entry(pool_key).read()
        }

        fn get_pool_liquidity(self: @ContractState, pool_key: PoolKey) -> u128 {
            self.pool_liquidity.entry(pool_key).read()
        }
    }

    #[abi(embed_v0)]
    impl LocalImpl of super::ILocalEkuboCore<ContractState> {
        // The pool's state as swaps and position updates would leave it (the caller keeps the tick
        // consistent with the price: allocations/deployment.py ekubo_pool_price).
        fn set_pool(ref self: ContractState, pool_key: PoolKey, price: PoolPrice, liquidity: u128) {
            assert(get_caller_address() == self.owner.read(), 'ONLY_OWNER');
            self.pool_price.entry(pool_key).write(price);
            self.pool_liquidity.entry(pool_key).write(liquidity);
        }

        fn owner(self: @ContractState) -> ContractAddress {
            self.owner.read()
        }
    }
}
