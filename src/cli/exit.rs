//! The one map from what went wrong to the exit status (DESIGN.md, the CLI contract):
//! 0 success, 1 failure or violations found, 2 usage error. Every command returns a
//! [`Failure`] or an [`Exit`]; no command picks a number itself.

use crate::db::DbError;
use crate::store::advisory::AdvisoryError;
use crate::store::index::IndexError;
use crate::store::sessions::SessionError;
use crate::store::snapshots::FileStoreError;
use crate::store::StoreError;
use std::process::ExitCode;

/// An exit status of `rmos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked (and found nothing wrong).
    Success,
    /// The command failed, or a check it ran found violations.
    Failure,
    /// The command line or an argument was not acceptable.
    Usage,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
        }
    }

    /// `Failure` when `violations`, else `Success` (checks such as `runs verify`).
    pub fn failed_if(violations: bool) -> Exit {
        if violations {
            Exit::Failure
        } else {
            Exit::Success
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// What an error means for the exit status.
pub trait ExitStatus {
    fn exit(&self) -> Exit;
}

impl ExitStatus for StoreError {
    fn exit(&self) -> Exit {
        match self {
            StoreError::InvalidRunId { .. } => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

impl ExitStatus for IndexError {
    fn exit(&self) -> Exit {
        match self {
            IndexError::BadCursor { .. } => Exit::Usage,
            IndexError::Store(e) => e.exit(),
            IndexError::Pg(e) => e.exit(),
            IndexError::Db(_)
            | IndexError::Sql { .. }
            | IndexError::Interrupted
            | IndexError::HostTaken { .. } => Exit::Failure,
        }
    }
}

impl ExitStatus for AdvisoryError {
    fn exit(&self) -> Exit {
        match self {
            AdvisoryError::Store(e) => e.exit(),
            _ => Exit::Failure,
        }
    }
}

impl ExitStatus for FileStoreError {
    fn exit(&self) -> Exit {
        match self {
            FileStoreError::InvalidId(_) => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

impl ExitStatus for SessionError {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}

impl ExitStatus for crate::db::pg::PgError {
    fn exit(&self) -> Exit {
        match self {
            crate::db::pg::PgError::Target { .. } => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

impl ExitStatus for DbError {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}

/// A command failure: the message for stderr and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    /// A failure (exit 1).
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::Failure,
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    /// End quietly with success (the reader of our output went away).
    pub fn quiet() -> Self {
        Failure {
            exit: Exit::Success,
            message: String::new(),
        }
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        self.exit.code()
    }
}

impl<E: ExitStatus + std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure {
            exit: e.exit(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_wherever_they_come_from() {
        let bad_id = || StoreError::InvalidRunId {
            shown: "../x".into(),
            reason: "traversal".into(),
        };
        assert_eq!(Failure::from(bad_id()).code(), 2);
        assert_eq!(Failure::from(AdvisoryError::Store(bad_id())).code(), 2);
        assert_eq!(Failure::from(IndexError::Store(bad_id())).code(), 2);
        assert_eq!(
            Failure::from(IndexError::BadCursor { cursor: "x".into() }).code(),
            2
        );
        assert_eq!(
            Failure::from(FileStoreError::InvalidId("bad".into())).code(),
            2
        );
        assert_eq!(
            Failure::from(AdvisoryError::NotFound("adv_x".into())).code(),
            1
        );
        assert_eq!(Failure::from(SessionError::NotFound("s".into())).code(), 1);
        assert_eq!(Failure::quiet().code(), 0);
        assert_eq!(Exit::failed_if(true), Exit::Failure);
        assert_eq!(Exit::failed_if(false), Exit::Success);
    }
}
