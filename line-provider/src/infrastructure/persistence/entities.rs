//! SeaORM entities: the tables as Rust types, nothing more.

pub mod events {
    use sea_orm::entity::prelude::*;

    /// A row of `events`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(column_type = "Decimal(Some((6, 2)))")]
        pub coefficient: Decimal,
        pub deadline: DateTimeUtc,
        pub status: Status,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    /// The `status` column (`TEXT` with a `CHECK` on these five values),
    /// spelled as the API and the messages spell it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum Status {
        /// Open.
        #[sea_orm(string_value = "NEW")]
        New,
        /// Suspended: open for changes, closed for bets.
        #[sea_orm(string_value = "SUSPENDED")]
        Suspended,
        /// Finished; bets on it win.
        #[sea_orm(string_value = "FINISHED_WIN")]
        FinishedWin,
        /// Finished; bets on it lose.
        #[sea_orm(string_value = "FINISHED_LOSE")]
        FinishedLose,
        /// Cancelled; bets on it are void.
        #[sea_orm(string_value = "CANCELLED")]
        Cancelled,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// A row of `outbox`: one message waiting for (or done with) the relay.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub message_id: Uuid,
        pub routing_key: String,
        pub payload: Json,
        pub traceparent: Option<String>,
        pub occurred_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub last_error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
