//! Class names: Fashion-MNIST's ten, and ImageNet-1k's thousand in the standard order.

/// Fashion-MNIST classes in label order (Xiao, Rasul & Vollgraf 2017, Table 1).
pub const FASHION_MNIST: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Which classes a network's outputs name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Labels {
    ImageNet,
    FashionMnist,
}

/// Why the ImageNet labels could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelsError {
    #[error(
        "the WordNet id list has {ids} lines and the name list {names}; both need at least 1000"
    )]
    TooShort { ids: usize, names: usize },
    #[error("line {line}: `{id}` is not a WordNet id (n followed by 8 digits)")]
    BadId { line: usize, id: String },
}

/// ImageNet-1k names in the standard class order, from darknet's `imagenet.labels.list`
/// (WordNet ids) and `imagenet.shortnames.list` (names, line for line): the first 1000
/// lines are ImageNet-1k, and sorting them by WordNet id gives the usual class indices
/// (0 tench, 281 tabby, 967 espresso, 999 toilet tissue).
pub fn imagenet_from_darknet(ids: &str, names: &str) -> Result<Vec<String>, LabelsError> {
    let ids: Vec<&str> = ids.lines().map(str::trim).collect();
    let names: Vec<&str> = names.lines().map(str::trim).collect();
    if ids.len() < 1000 || names.len() < 1000 {
        return Err(LabelsError::TooShort {
            ids: ids.len(),
            names: names.len(),
        });
    }
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(1000);
    for (i, (&id, &name)) in ids.iter().zip(&names).take(1000).enumerate() {
        let valid =
            id.len() == 9 && id.starts_with('n') && id[1..].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(LabelsError::BadId {
                line: i + 1,
                id: id.to_string(),
            });
        }
        pairs.push((id, name));
    }
    pairs.sort();
    Ok(pairs
        .into_iter()
        .map(|(_, name)| name.to_string())
        .collect())
}
