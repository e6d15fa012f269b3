# Where the built site is and how its files are named, as `cargo leptos build` leaves them
# (sourced by deploy/cluster.sh and end2end/server-env.sh; run from the repository root).
export LEPTOS_OUTPUT_NAME=vigil
# File names carry content hashes (hash.txt beside the server binary names them).
export LEPTOS_HASH_FILES=true
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg
