"""Model performance from ground truth: the prediction log, its late labels, the hourly
figures kept as labels land, and the series read from them."""
