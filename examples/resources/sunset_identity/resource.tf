resource "sunset_identity" "etl_loader" {
  name        = "etl-loader"
  kind        = "workload"
  owner       = "data-eng@example.com"
  end_date    = "2027-03-31"
  description = "Nightly load from the billing export into the warehouse"
  labels      = { team = "data", system = "warehouse" }
}
