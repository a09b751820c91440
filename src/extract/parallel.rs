//! Work spread over every core, for the steps of reading a file that are
//! not polars queries (the plain reader's parts, the UTF-8 check).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// `work` on items `0..count`, handed out to one thread per core as each
/// finishes its last. The results in item order; or, once a result is one
/// `stops` picks, no more items are handed out and the results computed so
/// far come back as the error, in no particular order.
pub(super) fn each<T: Send>(
    count: usize,
    work: impl Fn(usize) -> T + Sync,
    stops: impl Fn(&T) -> bool + Sync,
) -> Result<Vec<T>, Vec<T>> {
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(count)
        .max(1);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while !stopped.load(Ordering::Relaxed) {
                        let item = next.fetch_add(1, Ordering::Relaxed);
                        if item >= count {
                            break;
                        }
                        let result = work(item);
                        if stops(&result) {
                            stopped.store(true, Ordering::Relaxed);
                        }
                        done.push((item, result));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let results = |done: Vec<(usize, T)>| done.into_iter().map(|(_, result)| result).collect();
    if stopped.load(Ordering::Relaxed) {
        return Err(results(done));
    }
    done.sort_unstable_by_key(|(item, _)| *item);
    Ok(results(done))
}

#[cfg(test)]
mod tests {
    use super::each;

    #[test]
    fn results_come_in_item_order_unless_one_stops_the_work() {
        assert_eq!(each(100, |i| i * 2, |_| false), Ok((0..100).map(|i| i * 2).collect()));
        assert_eq!(each(0, |i| i, |_| false), Ok(vec![]));
        let stopped = each(100, |i| i, |&i| i == 7).unwrap_err();
        assert!(stopped.contains(&7), "{stopped:?}");
    }
}
