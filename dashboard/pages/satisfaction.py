"""Placeholder until the page lands."""
import streamlit as st

st.title("satisfaction")
st.info("This page is being built.")
