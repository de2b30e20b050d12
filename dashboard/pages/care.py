"""Placeholder until the page lands."""
import streamlit as st

st.title("care")
st.info("This page is being built.")
