"""Two-stage subject router and streaming math/history/English specialists"""
