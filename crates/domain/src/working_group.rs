//! The working group (工作组) each branch sets up for the campaign (docs/domain.md §5.1, §8.6).

/// Smallest allowed working group: "成立工作组（5-9人）".
pub const MIN_WORKING_GROUP_SIZE: usize = 5;
/// Largest allowed working group: "成立工作组（5-9人）".
pub const MAX_WORKING_GROUP_SIZE: usize = 9;

/// A working group whose size is outside 5–9.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkingGroupSizeError {
    /// Fewer than [`MIN_WORKING_GROUP_SIZE`] members.
    #[error("working group has {size} members, at least {MIN_WORKING_GROUP_SIZE} required")]
    TooSmall {
        /// The size that was refused.
        size: usize,
    },
    /// More than [`MAX_WORKING_GROUP_SIZE`] members.
    #[error("working group has {size} members, at most {MAX_WORKING_GROUP_SIZE} allowed")]
    TooLarge {
        /// The size that was refused.
        size: usize,
    },
}

impl WorkingGroupSizeError {
    /// Stable code used in the HTTP API.
    pub fn code(&self) -> &'static str {
        "working_group_size"
    }

    /// Message for end users, in Chinese.
    pub fn message_zh(&self) -> String {
        let size = match self {
            Self::TooSmall { size } | Self::TooLarge { size } => size,
        };
        format!(
            "工作组人数应为{MIN_WORKING_GROUP_SIZE}至{MAX_WORKING_GROUP_SIZE}人，当前为{size}人"
        )
    }
}

/// The working group size rule. Seed: "成立工作组（5-9人）。召开工作组部署会议，明确分工。"
///
/// Both bounds are inclusive: 5 and 9 members are allowed.
pub fn check_working_group_size(size: usize) -> Result<(), WorkingGroupSizeError> {
    if size < MIN_WORKING_GROUP_SIZE {
        Err(WorkingGroupSizeError::TooSmall { size })
    } else if size > MAX_WORKING_GROUP_SIZE {
        Err(WorkingGroupSizeError::TooLarge { size })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let table: &[(usize, Result<(), WorkingGroupSizeError>)] = &[
            (0, Err(WorkingGroupSizeError::TooSmall { size: 0 })),
            (4, Err(WorkingGroupSizeError::TooSmall { size: 4 })),
            (5, Ok(())),
            (7, Ok(())),
            (9, Ok(())),
            (10, Err(WorkingGroupSizeError::TooLarge { size: 10 })),
        ];
        for (size, expected) in table {
            assert_eq!(check_working_group_size(*size), *expected, "size {size}");
        }
    }

    #[test]
    fn code_and_message() {
        let table: &[(WorkingGroupSizeError, &str)] = &[
            (
                WorkingGroupSizeError::TooSmall { size: 4 },
                "工作组人数应为5至9人，当前为4人",
            ),
            (
                WorkingGroupSizeError::TooLarge { size: 10 },
                "工作组人数应为5至9人，当前为10人",
            ),
        ];
        for (error, message) in table {
            assert_eq!(error.code(), "working_group_size");
            assert_eq!(error.message_zh(), *message);
        }
    }
}
