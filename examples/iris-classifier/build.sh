#!/bin/sh
# Runs when the API's image is built, after requirements.txt is installed: bakes the trained model in.
set -e
python train.py model.joblib
