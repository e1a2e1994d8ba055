//! The Whistle domain core: organisation, request taxonomy, dispatch catalogue, the working-day
//! calendar, time-limit policy and the work order's life.
//!
//! Everything here is pure and synchronous: no IO, no clock, no randomness. Time comes in as an
//! argument (`now`), identifiers are minted by the caller, and every state change is the result of
//! [`order::decide`] followed by [`order::apply`]. This is what lets the store replay events and
//! the simulator drive millions of commands deterministically.

pub mod analysis;
pub mod calendar;
pub mod catalogue;
pub mod error;
pub mod evaluation;
pub mod grid;
pub mod ids;
pub mod order;
pub mod org;
pub mod outside;
pub mod policy;
pub mod reference;
pub mod taxonomy;
mod text;
pub mod time;
pub mod whistle;
