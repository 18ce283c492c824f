fn main() {
    for crd in lb_config::crd::definitions() {
        println!("---\n{}", serde_saphyr::to_string(&crd).unwrap());
    }
}
