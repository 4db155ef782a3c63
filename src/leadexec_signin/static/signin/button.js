/* placeholder: issue 3 */
