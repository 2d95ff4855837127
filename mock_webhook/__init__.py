"""mock_webhook — an mTLS mock webhook server with verification, fault scripts, a journal and an inbox page."""
