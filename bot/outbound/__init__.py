"""Getting messages out to WeChat and WeCom: access tokens, senders, the outbox delivery."""
