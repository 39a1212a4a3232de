pub mod back_office;
