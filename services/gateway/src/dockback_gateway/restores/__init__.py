"""restores"""
