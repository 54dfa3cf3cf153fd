"""Inference: model utilities, Predictive, HMC/NUTS and the MCMC driver.

Two helpers edit this file concurrently: keep to your own block and edit it in
place (never rewrite the whole file).
"""

# --- model utilities and Predictive (issue 3) -------------------------------
# --- end issue 3 block -------------------------------------------------------

# --- HMC / NUTS / MCMC (issue 4) ---------------------------------------------
# --- end issue 4 block -------------------------------------------------------
