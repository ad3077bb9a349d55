//! The database watch: other processes' commits to the shared data, from the storage
//! seam's change feed, forwarded to the console as messages.

use crate::store::seam::ChangeFeed;
use crate::tui::msg::Msg;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Tell the console what other processes commit — another console, a CLI, a batch
/// scorer, a reviewer — as [`Msg::SharedChange`], until the console goes away. The feed
/// takes its starting point when it is opened, before the console's first query: a commit
/// made after that is either in that query's answer or reported here.
pub fn spawn_db_watch(mut feed: Box<dyn ChangeFeed>, out: UnboundedSender<Msg>) {
    std::thread::Builder::new()
        .name("rmos-db-watch".into())
        .spawn(move || {
            // Whether the shared database is reachable: said once when it changes.
            let mut trouble: Option<String> = None;
            loop {
                let changes = feed.next(Duration::from_secs(1));
                if out.is_closed() {
                    return;
                }
                let now = feed.trouble();
                if now != trouble {
                    trouble = now.clone();
                    if out.send(Msg::SharedTrouble(now)).is_err() {
                        return;
                    }
                }
                if changes.any()
                    && out
                        .send(Msg::SharedChange {
                            runs: changes.runs,
                            review: changes.review,
                        })
                        .is_err()
                {
                    return;
                }
            }
        })
        .expect("spawn the database watch thread");
}
