//! SeaORM entities: the tables as Rust types, nothing more. Statuses are
//! `DeriveActiveEnum`s, so their spelling in the database is declared once,
//! here, next to the column.

pub mod events {
    use sea_orm::entity::prelude::*;

    /// A row of `events`: bet-maker's copy of one event.
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
        pub updated_at: DateTimeUtc,
        /// When line-provider first decided it (finished or cancelled);
        /// bets placed at or after it are late.
        pub decided_at: Option<DateTimeUtc>,
    }

    /// `events.status`, as the `CHECK` of the column spells it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum Status {
        /// Not finished.
        #[sea_orm(string_value = "NEW")]
        New,
        /// Closed for bets until resumed.
        #[sea_orm(string_value = "SUSPENDED")]
        Suspended,
        /// Finished: bets win.
        #[sea_orm(string_value = "FINISHED_WIN")]
        FinishedWin,
        /// Finished: bets lose.
        #[sea_orm(string_value = "FINISHED_LOSE")]
        FinishedLose,
        /// Cancelled: bets are void.
        #[sea_orm(string_value = "CANCELLED")]
        Cancelled,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod bets {
    use sea_orm::entity::prelude::*;

    /// A row of `bets`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The bettor who placed it (`legacy` for bets placed before bettors
        /// existed).
        pub bettor_id: String,
        #[sea_orm(column_type = "Decimal(Some((28, 2)))")]
        pub amount: Decimal,
        pub status: Status,
        #[sea_orm(column_type = "Decimal(Some((28, 2)))")]
        pub payout: Option<Decimal>,
        pub placed_at: DateTimeUtc,
        pub settled_at: Option<DateTimeUtc>,
        /// Why it is void, when it is.
        pub void_reason: Option<VoidReason>,
        /// How many legs it has (`bet_legs`).
        pub leg_count: i16,
        /// What it would pay were every open leg to win.
        #[sea_orm(column_type = "Decimal(Some((28, 2)))")]
        pub potential_payout: Decimal,
    }

    /// `bets.void_reason`, as the `CHECK` of the column spells it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum VoidReason {
        /// The event was cancelled.
        #[sea_orm(string_value = "CANCELLED")]
        Cancelled,
        /// Placed at or after the result was decided.
        #[sea_orm(string_value = "LATE")]
        Late,
    }

    /// `bets.status`, as the `CHECK` of the column spells it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum Status {
        /// No result yet.
        #[sea_orm(string_value = "PENDING")]
        Pending,
        /// Won.
        #[sea_orm(string_value = "WON")]
        Won,
        /// Lost.
        #[sea_orm(string_value = "LOST")]
        Lost,
        /// Void: the event was cancelled, the stake is paid back.
        #[sea_orm(string_value = "VOID")]
        Void,
        /// Cashed out: paid the quote the bettor took.
        #[sea_orm(string_value = "CASHED_OUT")]
        CashedOut,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod bet_legs {
    use sea_orm::entity::prelude::*;

    pub use super::bets::VoidReason;

    /// A row of `bet_legs`: one leg of a bet.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bet_legs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub bet_id: Uuid,
        /// Its place in the bet, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub leg: i16,
        pub event_id: Uuid,
        #[sea_orm(column_type = "Decimal(Some((6, 2)))")]
        pub coefficient: Decimal,
        pub status: Status,
        /// The coefficient it was settled at, when won or lost.
        #[sea_orm(column_type = "Decimal(Some((6, 2)))")]
        pub settled_coefficient: Option<Decimal>,
        /// Why it is void, when it is.
        pub void_reason: Option<VoidReason>,
        /// The version of its event's result it was (re-)decided by.
        pub settled_version: Option<i64>,
    }

    /// `bet_legs.status`, as the `CHECK` of the column spells it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum Status {
        /// The event has no result yet.
        #[sea_orm(string_value = "PENDING")]
        Pending,
        /// Won.
        #[sea_orm(string_value = "WON")]
        Won,
        /// Lost.
        #[sea_orm(string_value = "LOST")]
        Lost,
        /// Void: counts 1.00.
        #[sea_orm(string_value = "VOID")]
        Void,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod idempotency_keys {
    use sea_orm::entity::prelude::*;

    /// A row of `idempotency_keys`: a bettor's key of `POST /bets` or of a
    /// deposit or withdrawal, the request it was first used for, and what that
    /// request made. A key is unique per bettor, not across bettors.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub bettor_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub request: String,
        /// The bet the request placed (a key of `POST /bets`).
        pub bet_id: Option<Uuid>,
        /// The deposit the request asked for.
        pub deposit_id: Option<Uuid>,
        /// The withdrawal the request asked for; exactly one of the three
        /// is set.
        pub withdrawal_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
