"""A moto server on 127.0.0.1 per test session (per xdist worker); reconcilers talk to it over HTTP."""

import moto_estate

# The shared moto fixtures, registered for this folder.
moto_url = moto_estate.moto_url
estate = moto_estate.estate
