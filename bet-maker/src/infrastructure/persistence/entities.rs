//! SeaORM entities: the tables as Rust types, nothing more.

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
        pub status: String,
        pub version: i64,
        pub updated_at: DateTimeUtc,
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
        pub event_id: Uuid,
        #[sea_orm(column_type = "Decimal(Some((12, 2)))")]
        pub amount: Decimal,
        #[sea_orm(column_type = "Decimal(Some((6, 2)))")]
        pub coefficient: Decimal,
        pub status: String,
        #[sea_orm(column_type = "Decimal(Some((16, 2)))")]
        pub payout: Option<Decimal>,
        pub placed_at: DateTimeUtc,
        pub settled_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
