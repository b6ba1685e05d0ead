//! Size and MD5 of the console logs described so far, kept between requests so that
//! describing a growing log (`service::console`) reads only its new lines. A cache: losing
//! it costs a re-read, never a wrong answer.

use std::collections::HashMap;
use std::sync::Mutex;

use md5::Md5;
use process_core::FileId;

/// Size and MD5 of each log seen, carried on from the last line summed, so describing a
/// growing log reads only its new lines.
#[derive(Default)]
pub struct Sums(Mutex<HashMap<FileId, Sum>>);

#[derive(Clone, Default)]
pub struct Sum {
    pub last_seq: i64,
    pub bytes: u64,
    pub md5: Md5,
}

/// Logs whose sums are kept; past this the table starts over (a sum is only a cache).
const SUMS_KEPT: usize = 1_024;

impl Sums {
    pub fn get(&self, id: FileId) -> Sum {
        self.0
            .lock()
            .map(|m| m.get(&id).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn keep(&self, id: FileId, sum: Sum) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= SUMS_KEPT && !m.contains_key(&id) {
                m.clear();
            }
            let newer = m.get(&id).is_none_or(|old| old.last_seq < sum.last_seq);
            if newer {
                m.insert(id, sum);
            }
        }
    }
}
