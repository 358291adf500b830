//! A map bounded to the entries written most recently, in two
//! generations: [`super::cache`]'s tables.

use std::collections::HashMap;
use std::hash::Hash;

/// A map of the entries written most recently: two generations of at most
/// half the capacity each; a full newer generation replaces the older.
pub(super) struct Recent<K, V> {
    newer: HashMap<K, V>,
    older: HashMap<K, V>,
    half: usize,
}

impl<K: Eq + Hash, V> Recent<K, V> {
    pub(super) fn new(capacity: usize) -> Self {
        let half = capacity / 2;
        Self {
            newer: HashMap::with_capacity(half),
            older: HashMap::with_capacity(half),
            half,
        }
    }

    pub(super) fn get(&self, key: &K) -> Option<&V> {
        self.newer.get(key).or_else(|| self.older.get(key))
    }

    pub(super) fn insert(&mut self, key: K, value: V) {
        if self.half == 0 {
            return;
        }
        self.older.remove(&key);
        if self.newer.len() >= self.half && !self.newer.contains_key(&key) {
            // The older generation's table, emptied, takes the new
            // entries: the tables keep their memory, none is allocated
            // again (a table grown anew each time fragmented the heap: a
            // 3,000,000-command run peaked at 141 MB RSS, 111 MB so).
            std::mem::swap(&mut self.newer, &mut self.older);
            self.newer.clear();
        }
        self.newer.insert(key, value);
    }

    pub(super) fn remove(&mut self, key: &K) {
        self.newer.remove(key);
        self.older.remove(key);
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.newer.retain(&mut keep);
        self.older.retain(&mut keep);
    }

    pub(super) fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_its_capacity_and_the_newest_entries() {
        let mut recent = Recent::new(4);
        for i in 0..10 {
            recent.insert(i, i);
            assert!(recent.len() <= 4, "{} after {i}", recent.len());
        }
        assert_eq!(recent.get(&9), Some(&9));
        assert_eq!(recent.get(&8), Some(&8));
        assert_eq!(recent.get(&0), None);
        // Written again, an older entry is kept as a new one.
        recent.insert(7, 70);
        recent.insert(10, 10);
        recent.insert(11, 11);
        assert_eq!(recent.get(&7), Some(&70));
    }
}
