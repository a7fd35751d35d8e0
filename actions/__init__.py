"""The action server package (rasa-sdk): custom actions and the pure logic behind them."""
