//! Work items computed side by side and consumed in their order: how the CLI runs a model's
//! forward passes on every core while the estimator takes each sequence's hidden states in
//! sequence order, so the numbers are the same bits whatever the number of threads (the
//! accumulators' sums are never reordered).
//!
//! In wasm (no threads on a static page) and with one thread, items are computed and consumed one
//! after the other on the calling thread.

/// Computes `compute(i)` for `i` in `0..items` on up to `threads` threads and hands each result to
/// `consume(i, result)` on the calling thread, in order of `i`. The first error (of either)
/// stops the run and is returned; items after it are not consumed. Computing runs at most
/// `2 × threads` items ahead of consuming, which bounds the results held in memory.
pub fn map_in_order<T: Send, E: Send>(
    items: usize,
    threads: usize,
    compute: &(dyn Fn(usize) -> Result<T, E> + Sync),
    consume: &mut dyn FnMut(usize, T) -> Result<(), E>,
) -> Result<(), E> {
    #[cfg(not(target_arch = "wasm32"))]
    if threads > 1 && items > 1 {
        return threaded::map_in_order(items, threads.min(items), compute, consume);
    }
    let _ = threads;
    for i in 0..items {
        consume(i, compute(i)?)?;
    }
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
mod threaded {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Condvar, Mutex};

    /// Items consumed so far, and whether the run stopped; computing threads wait on it.
    struct Gate {
        consumed: Mutex<(usize, bool)>,
        moved: Condvar,
    }

    impl Gate {
        /// Waits until item `i` may be computed; false once the run has stopped.
        fn admit(&self, i: usize, ahead: usize) -> bool {
            let mut state = self.consumed.lock().unwrap_or_else(|p| p.into_inner());
            while !state.1 && i >= state.0 + ahead {
                state = self.moved.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            !state.1
        }
        fn set(&self, consumed: usize, stopped: bool) {
            let mut state = self.consumed.lock().unwrap_or_else(|p| p.into_inner());
            *state = (consumed.max(state.0), stopped || state.1);
            self.moved.notify_all();
        }
    }

    /// Stops the run if its thread panics, so no thread waits for it forever: the panic then
    /// reaches the caller when the threads are joined.
    struct StopOnPanic<'a>(&'a Gate);

    impl Drop for StopOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.set(0, true);
            }
        }
    }

    pub(super) fn map_in_order<T: Send, E: Send>(
        items: usize,
        threads: usize,
        compute: &(dyn Fn(usize) -> Result<T, E> + Sync),
        consume: &mut dyn FnMut(usize, T) -> Result<(), E>,
    ) -> Result<(), E> {
        let next = AtomicUsize::new(0);
        let gate = Gate {
            consumed: Mutex::new((0, false)),
            moved: Condvar::new(),
        };
        let ahead = 2 * threads;
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<(usize, Result<T, E>)>();
            for _ in 0..threads {
                let tx = tx.clone();
                let (next, gate) = (&next, &gate);
                // Every item below `items` is computed until the consumer stops the run (an
                // error in item i still lets items before it arrive); the gate bounds the rest.
                scope.spawn(move || {
                    let _stop = StopOnPanic(gate);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= items || !gate.admit(i, ahead) {
                            break;
                        }
                        // The receiver is gone only once the run has stopped.
                        if tx.send((i, compute(i))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let _stop = StopOnPanic(&gate);
            let mut waiting = BTreeMap::new();
            let mut expected = 0;
            let outcome = (|| {
                for (i, result) in &rx {
                    waiting.insert(i, result);
                    while let Some(result) = waiting.remove(&expected) {
                        consume(expected, result?)?;
                        expected += 1;
                        gate.set(expected, false);
                    }
                }
                Ok(())
            })();
            if outcome.is_err() {
                gate.set(expected, true);
            }
            drop(rx);
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_item_is_consumed_once_and_in_order_whatever_the_threads() {
        for threads in [1, 2, 3, 8] {
            for items in [0, 1, 2, 7, 50] {
                let mut seen = Vec::new();
                map_in_order::<usize, ()>(
                    items,
                    threads,
                    &|i| {
                        // Later items finish first now and then.
                        std::thread::sleep(std::time::Duration::from_micros(
                            ((i * 7) % 5) as u64 * 50,
                        ));
                        Ok(i * i)
                    },
                    &mut |i, v| {
                        assert_eq!(v, i * i);
                        seen.push(i);
                        Ok(())
                    },
                )
                .unwrap();
                assert_eq!(
                    seen,
                    (0..items).collect::<Vec<_>>(),
                    "{threads} threads, {items} items"
                );
            }
        }
    }

    #[test]
    fn a_panic_on_either_side_reaches_the_caller_instead_of_hanging() {
        for threads in [2, 3] {
            let worker = std::panic::catch_unwind(|| {
                map_in_order::<usize, ()>(
                    100,
                    threads,
                    &|i| if i == 4 { panic!("item 4") } else { Ok(i) },
                    &mut |_, _| Ok(()),
                )
            });
            assert!(
                worker.is_err(),
                "{threads} threads: a worker's panic was lost"
            );
            let consumer = std::panic::catch_unwind(|| {
                map_in_order::<usize, ()>(100, threads, &|i| Ok(i), &mut |i, _| {
                    assert_ne!(i, 4, "consumer");
                    Ok(())
                })
            });
            assert!(
                consumer.is_err(),
                "{threads} threads: the consumer's panic was lost"
            );
        }
    }

    #[test]
    fn the_first_error_stops_the_run_and_nothing_after_it_is_consumed() {
        for threads in [1, 2, 4] {
            let computed = AtomicUsize::new(0);
            let mut seen = Vec::new();
            let r = map_in_order(
                100,
                threads,
                &|i| {
                    computed.fetch_add(1, Ordering::Relaxed);
                    if i == 5 {
                        Err(format!("item {i} failed"))
                    } else {
                        Ok(i)
                    }
                },
                &mut |i, _| {
                    seen.push(i);
                    Ok(())
                },
            );
            assert_eq!(r, Err("item 5 failed".to_string()));
            assert_eq!(seen, vec![0, 1, 2, 3, 4]);
            // Computing never runs more than 2 × threads items ahead of consuming.
            assert!(computed.load(Ordering::Relaxed) <= 5 + 1 + 2 * threads);
            let mut seen = Vec::new();
            let r = map_in_order::<usize, String>(100, threads, &|i| Ok(i), &mut |i, _| {
                seen.push(i);
                if i == 3 {
                    Err("consumer refused".into())
                } else {
                    Ok(())
                }
            });
            assert_eq!(r, Err("consumer refused".to_string()));
            assert_eq!(seen, vec![0, 1, 2, 3]);
        }
    }
}
