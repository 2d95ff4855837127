"""mock_webhook — an mTLS mock webhook with verification, fault scripts, a journal and an inbox page."""
